package service

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"roster/peer/api"
	"roster/peer/groups"
)

// Config is what a Service needs from the peer that runs it.
type Config struct {
	// Self is this peer's id.
	Self int
	// Raft is the peer's Raft; State the groups part of its FSM.
	Raft  *raft.Raft
	State *groups.State
	// Members returns the committed view's id and members (peer ids,
	// ascending). It must be safe for concurrent use.
	Members func() (viewID uint64, members []int)
	// PeerAPI returns the HTTP API address (HOST:PORT) of a peer, as
	// failure detection knows it. It must be safe for concurrent use.
	PeerAPI func(id int) (string, bool)
	// Interval is how often an owner checks each of its clients; Misses
	// how many checks in a row a client may miss before its owner removes it.
	Interval time.Duration
	Misses   int
	// LocalIP, if set, is the address requests to other peers come from
	// (the peer's bind address: a peer's API counts connections per
	// address, and on one host every peer would otherwise come from the
	// same one).
	LocalIP net.IP
	// Dial, if set, makes the service's connections: the checks of
	// clients and the requests forwarded to other peers.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Header is added to every request sent to another peer (credentials).
	Header http.Header
	// TLS, if set, is the client configuration for the other peers' API
	// when it serves HTTPS.
	TLS    *tls.Config
	Logger hclog.Logger
}

// Timeouts of the service.
const (
	// writeTimeout bounds a write: finding the leader, committing, and
	// forwarding.
	writeTimeout = 5 * time.Second
	// leaderWait is how long a write waits for a leader to be known before
	// it answers 503: an election takes about a second.
	leaderWait = 2 * time.Second
	// forwardTimeout bounds a keepalive or check passed to another peer.
	forwardTimeout = time.Second
	// peerConns caps the connections to each other peer's API.
	peerConns = 8
)

// Package service is a peer's client groups service: writes through Raft
// (batched on the leader, forwarded to it from other peers), reads with
// indexes (blocking and consistent), keepalives, and the owners' checks of
// their clients. The state itself is package groups, in the FSM.
//
// Service is a peer's client groups service: it implements api.Groups and
// runs the owner's checks. Build it with New, mount it with
// api.Server.MountGroups, and call Run once. Its methods are safe for
// concurrent use.
type Service struct {
	cfg         Config
	log         hclog.Logger
	batch       *batcher
	barrier     *barrier
	live        *liveness
	peers       *api.GroupsClient                                                 // for requests to other peers (Do only)
	probeHC     *http.Client                                                      // for http:// checks
	dialer      func(ctx context.Context, network, addr string) (net.Conn, error) // to peers
	probeDialer func(ctx context.Context, network, addr string) (net.Conn, error) // to clients
	life        context.Context                                                   // done when Run's context is done
	end         context.CancelFunc                                                // ends life
	ready       chan struct{}                                                     // closed when Run starts
}

// New returns a Service; it does nothing until Run.
func New(cfg Config) *Service {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Misses <= 0 {
		cfg.Misses = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	s := &Service{cfg: cfg, log: cfg.Logger.Named("groups")}
	s.life, s.end = context.WithCancel(context.Background())
	s.dialer, s.probeDialer = cfg.Dial, cfg.Dial
	if cfg.Dial == nil {
		d := &net.Dialer{}
		if cfg.LocalIP != nil && !cfg.LocalIP.IsUnspecified() {
			d.LocalAddr = &net.TCPAddr{IP: cfg.LocalIP}
		}
		s.dialer = d.DialContext
		// A check's connection lives a moment: no TCP keep-alive to set up.
		s.probeDialer = (&net.Dialer{KeepAlive: -1}).DialContext
	}
	// Requests to other peers share one HTTP/2 connection per peer (h2c,
	// see api.Listen), so that many forwarded writes arrive together and
	// share Raft entries. With TLS files the API speaks HTTP/1.1 only: at
	// most peerConns connections per peer (a peer's API admits 16 from one
	// address), more requests wait for a free one.
	tr := &http.Transport{
		Proxy: nil, DialContext: s.dialer, TLSClientConfig: cfg.TLS,
		MaxConnsPerHost: peerConns, MaxIdleConnsPerHost: peerConns, IdleConnTimeout: 20 * time.Second,
	}
	if cfg.TLS == nil {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	s.peers = &api.GroupsClient{HTTP: &http.Client{Transport: tr}, Header: cfg.Header, Timeout: writeTimeout, HTTPS: cfg.TLS != nil}
	s.probeHC = &http.Client{
		Transport: &http.Transport{Proxy: nil, DialContext: s.probeDialer, DisableKeepAlives: true},
		// A check follows no redirect: the address answers 2xx or not.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	s.batch = newBatcher(cfg.Raft)
	s.barrier = &barrier{raft: cfg.Raft}
	s.live = newLiveness(s)
	return s
}

// Run runs the leader's batcher and the owner's checks until ctx is done;
// requests in flight end then too.
func (s *Service) Run(ctx context.Context) {
	stop := context.AfterFunc(ctx, s.end)
	defer func() {
		if stop() {
			s.end() // Run ended before its context: stop anyway
		}
	}()
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		s.batch.run(ctx)
	}()
	s.live.run(ctx)
	<-finished
}

// stopped returns a context that is done when ctx is, or when the service
// stops (Run's context is done). It starts no goroutine.
func (s *Service) stopped(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(s.life, cancel)
	return ctx, func() {
		unhook()
		cancel()
	}
}

// Join implements api.Groups.
func (s *Service) Join(ctx context.Context, group string, req api.JoinRequest, o api.Origin) (api.JoinResponse, error) {
	o = withRequestID(o, s.cfg.Self)
	op := groups.Op{Kind: groups.OpJoin, Group: group, Client: req.Client, Addr: req.Addr, Meta: req.Meta, Request: o.Header.Get(api.RequestHeader)}
	var out api.JoinResponse
	res, index, err := s.write(ctx, op, o, "/join", req, &out)
	if err != nil || out.Index != 0 {
		return out, err // forwarded: the leader's answer
	}
	_, members := s.cfg.Members()
	return api.JoinResponse{Group: group, Client: req.Client, Incarnation: res.Incarnation, Owner: groups.Owner(group, req.Client, members), Index: index}, nil
}

// withRequestID returns o with a request id (api.RequestHeader): its own,
// or a new one made by peer self. The forwarded request carries it.
func withRequestID(o api.Origin, self int) api.Origin {
	if id := o.Header.Get(api.RequestHeader); id != "" && len(id) <= 128 {
		return o
	}
	h := o.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(api.RequestHeader, fmt.Sprintf("%d-%016x", self, rand.Uint64()))
	o.Header = h
	return o
}

// Leave implements api.Groups.
func (s *Service) Leave(ctx context.Context, group string, req api.LeaveRequest, o api.Origin) (api.LeaveResponse, error) {
	op := groups.Op{Kind: groups.OpLeave, Group: group, Client: req.Client, Incarnation: req.Incarnation}
	if req.Reason == api.ReasonExpired {
		op.Kind, op.By = groups.OpExpire, o.Forwarded
	}
	var out api.LeaveResponse
	_, index, err := s.write(ctx, op, o, "/leave", req, &out)
	if err != nil || out.Index != 0 {
		return out, err
	}
	return api.LeaveResponse{Index: index}, nil
}

// expire commits the removal of one incarnation of a client this peer owns.
func (s *Service) expire(ctx context.Context, group, client string, inc uint64) error {
	req := api.LeaveRequest{Client: client, Incarnation: inc, Reason: api.ReasonExpired}
	op := groups.Op{Kind: groups.OpExpire, Group: group, Client: client, Incarnation: inc, By: s.cfg.Self}
	var out api.LeaveResponse
	_, _, err := s.write(ctx, op, api.Origin{}, "/leave", req, &out)
	return err
}

// unavailable is the answer when no leader can commit: retry later.
func unavailable(format string, a ...any) *api.HTTPError {
	e := api.Errorf(http.StatusServiceUnavailable, format, a...)
	e.RetryAfter = time.Second
	return e
}

// isRetryable reports whether a local commit failed in a way that another
// attempt (at the leader of the moment) may fix.
func isRetryable(err error) bool {
	return errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) ||
		errors.Is(err, raft.ErrEnqueueTimeout) || errors.Is(err, raft.ErrAbortedByRestore)
}
