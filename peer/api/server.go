// Package api is a peer's HTTP API: liveness (/health), readiness (/ready),
// the committed view, and the mount point for handlers that what runs the
// peer adds (the lab's fault API); with a token set, state-changing requests
// need it (see Options).
package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log"
	"net"
	"net/http"
	"time"

	"roster/peer/fsm"
	"roster/peer/netguard"
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

// Bounds of the API: what one connection or request can hold. No request
// of the API needs a body over a few hundred bytes or a second to send.
const (
	maxHeaderBytes    = 16 << 10
	maxBodyBytes      = 64 << 10
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	// idleTimeout closes a kept-alive connection with no request.
	idleTimeout = 30 * time.Second
	// connsPerIP caps concurrent connections from one address.
	connsPerIP = 16
)

// serverProtocols are HTTP/1.1 and, for the peers, unencrypted HTTP/2 (h2c
// with prior knowledge): a peer forwards many requests at once to another
// (writes to the leader) over one connection instead of one connection
// each, which the per-address cap would refuse.
func serverProtocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

// Limits are the API's options beyond its address.
type Limits struct {
	// TLS, if set, makes the API serve HTTPS.
	TLS *tls.Config
	// Log counts refused connections at a bounded rate.
	Log *netguard.RateLog
	// Token, if set, is required (as "Authorization: Bearer TOKEN") by
	// every request that changes state: any method but GET, HEAD and
	// OPTIONS, on every path, mounted handlers included.
	Token string
	// TokenReads requires the token on reads too.
	TokenReads bool
}

// Listen binds the API address; it fails at once if the port is taken.
func Listen(addr string, peer Peer, lim Limits) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ln = &netguard.Listener{Listener: ln, Limit: &netguard.ConnLimiter{PerIP: connsPerIP, Total: connsTotal()}, Log: lim.Log, Name: "api"}
	if lim.TLS != nil {
		ln = tls.NewListener(ln, lim.TLS)
	}
	s := &Server{peer: peer, mux: http.NewServeMux(), ln: ln}
	s.mux.HandleFunc("GET /health", s.health)
	s.mux.HandleFunc("GET /ready", s.ready)
	s.mux.HandleFunc("GET /view", s.view)
	s.srv = &http.Server{
		Handler:           http.MaxBytesHandler(newAuthorizer(lim).wrap(s.mux), maxBodyBytes),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(lim.Log.Writer("api"), "", 0),
		Protocols:         serverProtocols(),
	}
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
