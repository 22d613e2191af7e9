// Package api is a peer's HTTP API: liveness (/health), readiness (/ready),
// the committed view, and the mount point for handlers that what runs the
// peer adds (the lab's fault API); with a token set, state-changing requests
// need it (see Options).
package api

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"roster/peer/fsm"
)

// Status is a peer's state, part of its answer to /health and /ready.
type Status struct {
	Name string `json:"name"`
	ID   int    `json:"id"`
	// State is the Raft state: Leader, Follower, Candidate or Shutdown.
	State string `json:"state"`
	// Leader is the id of the current Raft leader, 0 when none is known.
	Leader int      `json:"leader"`
	View   fsm.View `json:"view"`
}

// Peer is what the API asks of the running peer. Its methods are called
// from HTTP handler goroutines and must be safe for concurrent use.
type Peer interface {
	// Status returns the peer's state.
	Status() Status
	// Live says whether the peer is alive: it serves, Raft runs.
	Live() Health
	// Ready says whether the peer takes part in its cluster (see /ready).
	Ready() Health
}

// Server serves the API. Handle may be called before Serve only.
type Server struct {
	peer Peer
	mux  *http.ServeMux
	srv  *http.Server
	ln   net.Listener
}

// Listen binds the API address; it fails at once if the port is taken.
func Listen(addr string, peer Peer, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{peer: peer, mux: http.NewServeMux(), ln: ln}
	s.mux.HandleFunc("GET /health", s.health)
	s.mux.HandleFunc("GET /ready", s.ready)
	s.mux.HandleFunc("GET /view", s.view)
	s.srv = &http.Server{Handler: newAuthorizer(opts).wrap(s.mux), ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// Handle mounts another handler (the fault API, groups).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Addr is the address the API listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until Close; it returns nil after Close.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops the server.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeHealth(w, s.peer.Live())
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	writeHealth(w, s.peer.Ready())
}

func writeHealth(w http.ResponseWriter, h Health) {
	code := http.StatusOK
	if !h.OK {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

func (s *Server) view(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.peer.Status().View)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
