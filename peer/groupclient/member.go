// Package groupclient is a member of a client group, as `roster client`
// runs it: it joins through any of several peers, follows the group with
// blocking queries and prints each group view it sees (peer/viewlog group
// lines), joins again if the group drops it while it runs, sends optional
// keepalives, and leaves with its incarnation. The checks it must answer
// are served by ServeTCP or ServeHTTP.
package groupclient

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"roster/peer/api"
	"roster/peer/viewlog"
)

// Config configures a Member.
type Config struct {
	// Group and Client name the membership.
	Group, Client string
	// Peers is the API client of the peers (its Addrs are tried in turn).
	Peers *api.GroupsClient
	// Addr is where the peers check this client (host:port or http://...).
	Addr string
	// Meta is published with the membership (a JSON object, or nil).
	Meta json.RawMessage
	// Keepalive, if positive, is how often to send a keepalive.
	Keepalive time.Duration
	// Wait is the wait of each blocking query (default 30 s).
	Wait time.Duration
	// Log receives the group lines.
	Log *viewlog.GroupLogger
	// Errorf, if set, receives diagnostics (peers unreachable, ...).
	Errorf func(format string, a ...any)
}

// Member is one client in one group. Run it once; Leave and Crash may be
// called from another goroutine. Safe for concurrent use.
type Member struct {
	cfg Config

	mu        sync.Mutex
	inc       uint64 // current incarnation, 0 before the first join
	joinIndex uint64 // index of the current join
	printed   uint64 // last group index printed
	in        bool   // joined, and no view seen since without this client
}

// New returns a Member; nothing happens until Run.
func New(cfg Config) *Member {
	if cfg.Wait <= 0 {
		cfg.Wait = 30 * time.Second
	}
	if cfg.Errorf == nil {
		cfg.Errorf = func(string, ...any) {}
	}
	return &Member{cfg: cfg}
}

// Incarnation returns the current incarnation (0 before the first join).
func (m *Member) Incarnation() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inc
}

// LastIndex returns the index of the last group view printed.
func (m *Member) LastIndex() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.printed
}

// Run prints "joining", joins, and follows the group until ctx is done,
// joining again (a new life, "joining" again) when the group drops this
// client. It returns ctx's error; it does not leave.
func (m *Member) Run(ctx context.Context) error {
	if m.cfg.Keepalive > 0 {
		var wg sync.WaitGroup
		defer wg.Wait()
		kctx, cancel := context.WithCancel(ctx)
		defer cancel()
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.keepalive(kctx)
		}()
	}
	for ctx.Err() == nil {
		m.cfg.Log.Message(m.LastIndex(), viewlog.Joining)
		if !m.join(ctx) {
			break
		}
		m.follow(ctx)
	}
	return ctx.Err()
}

// join joins, trying again (every peer in turn, with a growing pause)
// until it succeeds or ctx is done.
func (m *Member) join(ctx context.Context) bool {
	req := api.JoinRequest{Client: m.cfg.Client, Addr: m.cfg.Addr, Meta: m.cfg.Meta}
	for pause := 100 * time.Millisecond; ; pause = min(2*pause, 2*time.Second) {
		res, err := m.cfg.Peers.Join(ctx, m.cfg.Group, req)
		if err == nil {
			m.mu.Lock()
			m.inc, m.joinIndex, m.in = res.Incarnation, res.Index, true
			m.mu.Unlock()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		m.cfg.Errorf("join %s: %v", m.cfg.Group, err)
		var he *api.HTTPError
		if errors.As(err, &he) && he.Code < 500 {
			return false // refused for good (bad input): nothing to retry
		}
		if !pauseFor(ctx, pause) {
			return false
		}
	}
}

// follow prints every group view it sees from the join on, and returns when
// the group no longer holds this client's incarnation (or ctx is done).
func (m *Member) follow(ctx context.Context) {
	m.mu.Lock()
	index := m.joinIndex - 1 // the first answer is the join's state or later
	m.mu.Unlock()
	for pause := 100 * time.Millisecond; ctx.Err() == nil; {
		g, err := m.cfg.Peers.Watch(ctx, m.cfg.Group, index, m.cfg.Wait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var he *api.HTTPError
			if api.IsNotFound(err) && errors.As(err, &he) && he.Index > index {
				// The group is gone (empty) at an index past our join.
				m.print(he.Index, []string{})
				m.dropped()
				return
			}
			m.cfg.Errorf("watch %s: %v", m.cfg.Group, err)
			if !pauseFor(ctx, pause) {
				return
			}
			pause = min(2*pause, 2*time.Second)
			continue
		}
		pause = 100 * time.Millisecond
		if g.Index <= index {
			continue // the wait passed with no change
		}
		index = g.Index
		m.print(g.Index, g.Clients())
		if !slices.ContainsFunc(g.Members, func(x api.Member) bool { return x.Client == m.cfg.Client }) {
			m.dropped()
			return // join again
		}
		// Another process with this id may have replaced this life: go on
		// following without fighting it (this one's leave, naming its own
		// incarnation, will not remove the other).
	}
}

// dropped notes that a view without this client was seen.
func (m *Member) dropped() {
	m.mu.Lock()
	m.in = false
	m.mu.Unlock()
}

// print prints a group view once, in index order.
func (m *Member) print(index uint64, members []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if index <= m.printed {
		return
	}
	m.printed = index
	m.cfg.Log.View(index, members)
}

// keepalive sends keepalives until ctx is done.
func (m *Member) keepalive(ctx context.Context) {
	t := time.NewTicker(m.cfg.Keepalive)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m.Incarnation() == 0 {
			continue
		}
		kctx, cancel := context.WithTimeout(ctx, max(m.cfg.Keepalive, time.Second))
		_, err := m.cfg.Peers.Keepalive(kctx, m.cfg.Group, m.cfg.Client)
		cancel()
		if err != nil && ctx.Err() == nil {
			m.cfg.Errorf("keepalive %s: %v", m.cfg.Group, err)
		}
	}
}

// Leave prints "leaving" and removes this client's incarnation from the
// group, within timeout.
func (m *Member) Leave(timeout time.Duration) error {
	m.cfg.Log.Message(m.LastIndex(), viewlog.Leaving)
	inc := m.Incarnation()
	if inc == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := m.cfg.Peers.Leave(ctx, m.cfg.Group, api.LeaveRequest{Client: m.cfg.Client, Incarnation: inc})
	return err
}

// Crash prints "crashing" (the caller then exits without leaving).
func (m *Member) Crash() {
	m.cfg.Log.Message(m.LastIndex(), viewlog.Crashing)
}

func pauseFor(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
