package groupload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"roster/lab/runner"
	"roster/peer/api"
)

// ClusterOptions say how to start a local cluster.
type ClusterOptions struct {
	// Peers is the number of peers (at least 1).
	Peers int
	// Roster is the roster binary ("" for this executable).
	Roster string
	// PeerArgs are extra flags for every peer (--client-interval 1s ...).
	PeerArgs []string
	// Log receives the peers' timestamped output (nil: none).
	Log io.Writer
	// Diag receives the runner's messages (nil: none).
	Diag io.Writer
	// Ready bounds the wait for every peer to be in one view (default 60 s).
	Ready time.Duration
}

// Cluster is a set of roster peers running as local processes, each on its
// own loopback address (the lab runner's placement). Its methods are safe
// for concurrent use.
type Cluster struct {
	ctl    *runner.Control
	eps    []runner.Endpoint
	cancel context.CancelFunc
	done   chan struct{}
	res    *runner.Result
	err    error
}

// StartCluster starts o.Peers peers and waits until every one of them
// serves a view holding all of them. The cluster runs until Stop (or ctx
// ends); Stop must be called in any case once StartCluster returned one.
func StartCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	if o.Peers < 1 {
		return nil, fmt.Errorf("need at least one peer, got %d", o.Peers)
	}
	sc := &runner.Scenario{Duration: 24 * time.Hour}
	for i := 1; i <= o.Peers; i++ {
		name := fmt.Sprintf("p%d", i)
		sc.Services = append(sc.Services, runner.Service{Name: name, Peer: name, Args: append([]string{}, o.PeerArgs...)})
	}
	runCtx, cancel := context.WithCancel(ctx)
	c := &Cluster{cancel: cancel, done: make(chan struct{})}
	started := make(chan *runner.Control, 1)
	opts := runner.Options{Roster: o.Roster, LogFile: o.Log, Diag: o.Diag, StopTimeout: 3 * time.Second,
		OnStart: func(ctl *runner.Control) { started <- ctl }}
	go func() {
		defer close(c.done)
		c.res, c.err = runner.Run(runCtx, sc, opts)
	}()
	select {
	case c.ctl = <-started:
	case <-c.done:
		cancel()
		if c.err == nil {
			c.err = errors.New("the peers did not start")
		}
		return nil, c.err
	}
	c.eps = c.ctl.Endpoints()
	wait := o.Ready
	if wait <= 0 {
		wait = time.Minute
	}
	if err := c.waitView(ctx, o.Peers, wait, true); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Addrs returns the peers' API addresses, in peer order.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.eps))
	for i, ep := range c.eps {
		out[i] = ep.APIAddr()
	}
	return out
}

// Size returns the number of peers.
func (c *Cluster) Size() int { return len(c.eps) }

// Name returns the name of peer i (0-based).
func (c *Cluster) Name(i int) string { return c.eps[i].Peer }

// Kill sends SIGKILL to peer i; Start brings it back with its data.
func (c *Cluster) Kill(i int) error { return c.ctl.Kill(c.eps[i].Peer) }

// Start starts peer i again after Kill.
func (c *Cluster) Start(i int) error { return c.ctl.Start(c.eps[i].Peer) }

// Pid returns the process id of peer i, and false when it is not running.
func (c *Cluster) Pid(i int) (int, bool) { return c.ctl.Pid(c.eps[i].Peer) }

// Status asks peer i for its status.
func (c *Cluster) Status(ctx context.Context, i int) (api.Status, error) {
	return api.Client{Addr: c.eps[i].APIAddr(), Timeout: time.Second}.Status(ctx)
}

// Leader returns the index of the peer that leads, as peer 0..n-1 see it.
func (c *Cluster) Leader(ctx context.Context) (int, error) {
	for i := range c.eps {
		st, err := c.Status(ctx, i)
		if err == nil && st.State == "Leader" {
			return i, nil
		}
	}
	return -1, errors.New("no peer says it leads")
}

// WaitView waits until every peer (a peer being started again too) serves
// one and the same view of n members.
func (c *Cluster) WaitView(ctx context.Context, n int, wait time.Duration) error {
	return c.waitView(ctx, n, wait, true)
}

// waitView waits until every peer (all: even those not running now) serves
// a view of n members.
func (c *Cluster) waitView(ctx context.Context, n int, wait time.Duration, all bool) error {
	deadline := time.Now().Add(wait)
	for {
		var lagging []string
		ids := map[uint64]bool{}
		for i := range c.eps {
			if _, running := c.Pid(i); !running && !all {
				continue
			}
			st, err := c.Status(ctx, i)
			if err != nil || len(st.View.Members) != n {
				lagging = append(lagging, c.eps[i].Peer)
				continue
			}
			ids[st.View.ID] = true
		}
		if len(ids) > 1 {
			lagging = append(lagging, fmt.Sprintf("(on %d different views)", len(ids)))
		}
		if len(lagging) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("peers %v are not in a view of %d peers after %v", lagging, n, wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return fmt.Errorf("the peers stopped: %v", c.err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop stops every peer and returns the runner's result (the peers'
// collected log among it).
func (c *Cluster) Stop() (*runner.Result, error) {
	c.cancel()
	<-c.done
	return c.res, c.err
}
