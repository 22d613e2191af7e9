package groupbench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"roster/lab/stats"
	"roster/peer/api"
)

// checkPool is a few listeners that answer every check (accept and close):
// the check addresses of the bench's clients that stay alive.
type checkPool struct {
	lns  []net.Listener
	next atomic.Int64
}

func newCheckPool(n int) (*checkPool, error) {
	p := &checkPool{}
	for range n {
		ln, err := listenAlive()
		if err != nil {
			p.Close()
			return nil, err
		}
		p.lns = append(p.lns, ln)
	}
	return p, nil
}

// listenAlive opens a loopback listener that accepts and closes every
// connection until it is closed.
func listenAlive() (net.Listener, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln, nil
}

// addr returns the next listener's address.
func (p *checkPool) addr() string {
	return p.lns[int(p.next.Add(1))%len(p.lns)].Addr().String()
}

func (p *checkPool) Close() {
	for _, ln := range p.lns {
		ln.Close()
	}
}

// join joins client to group through peer i.
func (b *bench) join(ctx context.Context, i int, group, client, addr string) (api.JoinResponse, error) {
	return b.joinFrom(ctx, b.api, i, group, client, addr)
}

// joinFrom joins client to group through peer i, from host h.
func (b *bench) joinFrom(ctx context.Context, h *api.GroupsClient, i int, group, client, addr string) (api.JoinResponse, error) {
	var out api.JoinResponse
	body := fmt.Appendf(nil, `{"client":%q,"addr":%q}`, client, addr)
	err := h.Do(ctx, b.cl.Addrs()[i], "POST", "/v1/groups/"+group+"/join", body, nil, 0, &out)
	return out, err
}

// group reads group at peer i from its local state (404: empty).
func (b *bench) group(ctx context.Context, i int, group string) (api.GroupResponse, error) {
	var out api.GroupResponse
	err := b.api.Do(ctx, b.cl.Addrs()[i], "GET", "/v1/groups/"+group, nil, nil, 0, &out)
	if api.IsNotFound(err) {
		return api.GroupResponse{Group: group}, nil
	}
	return out, err
}

// follower returns a peer that does not lead.
func (b *bench) follower(ctx context.Context) (int, error) {
	lead, err := b.cl.Leader(ctx)
	if err != nil {
		return 0, err
	}
	return (lead + 1) % b.cl.Size(), nil
}

// joinFollower times n joins, one after another, through a follower.
func (b *bench) joinFollower(ctx context.Context, n int) (stats.Summary, error) {
	f, err := b.follower(ctx)
	if err != nil {
		return stats.Summary{}, err
	}
	var ds []time.Duration
	for range n {
		t := time.Now()
		if _, err := b.join(ctx, f, "bench-join", b.id("j"), b.checks.addr()); err != nil {
			return stats.Summary{}, err
		}
		ds = append(ds, time.Since(t))
	}
	return stats.Of(ds), nil
}

// atOnce has n clients join at once through random peers and times how
// long until every peer serves all of them.
func (b *bench) atOnce(ctx context.Context, n int) (AtOnceFigure, error) {
	fig := AtOnceFigure{Clients: n}
	const group = "bench-burst"
	ids := make([]string, n)
	for i := range ids {
		ids[i] = b.id("b")
	}
	lat := make([]time.Duration, n)
	errs := make(chan error, n)
	var retried atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			n, err := retrying(ctx, time.Minute, func() error {
				_, err := b.joinFrom(ctx, b.hosts.pick(i), rand.IntN(b.cl.Size()), group, ids[i], b.checks.addr())
				return err
			})
			lat[i] = time.Since(t)
			retried.Add(int64(n))
			if err != nil {
				errs <- err
			}
		}()
	}
	all, err := b.waitAll(ctx, group, func(g api.GroupResponse) bool { return len(g.Members) >= n }, time.Minute)
	wg.Wait()
	close(errs)
	if e := <-errs; e != nil {
		return fig, fmt.Errorf("a join failed: %w", e)
	}
	if err != nil {
		return fig, err
	}
	fig.AllMs = stats.Ms(all.Sub(t0))
	fig.Joins = stats.Of(lat)
	fig.Unanswered = int(retried.Load())
	return fig, nil
}

// waitAll polls every peer's local state of group until ok holds at all of
// them, and returns when it did.
func (b *bench) waitAll(ctx context.Context, group string, ok func(api.GroupResponse) bool, wait time.Duration) (time.Time, error) {
	deadline := time.Now().Add(wait)
	done := make([]bool, b.cl.Size())
	for {
		for i := range done {
			if done[i] {
				continue
			}
			if g, err := b.group(ctx, i, group); err == nil && ok(g) {
				done[i] = true
			}
		}
		if !slices.Contains(done, false) {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("group %s: not every peer got there within %v", group, wait)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// crashes joins n clients with their own check addresses, closes them all
// at once, and times each one's absence at every peer.
func (b *bench) crashes(ctx context.Context, n int, interval time.Duration, misses int) (CrashFigure, error) {
	fig := CrashFigure{Crashes: n, BoundMs: stats.Ms(interval*time.Duration(misses) + time.Second)}
	const group = "bench-crash"
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ids := make([]string, n)
	for i := range ids {
		ln, err := listenAlive()
		if err != nil {
			return fig, err
		}
		lns = append(lns, ln)
		ids[i] = b.id("x")
		if _, err := b.join(ctx, i%b.cl.Size(), group, ids[i], ln.Addr().String()); err != nil {
			return fig, err
		}
	}
	if _, err := b.waitAll(ctx, group, func(g api.GroupResponse) bool { return len(g.Members) == n }, 10*time.Second); err != nil {
		return fig, err
	}
	// Let the owners check them a few times, as live clients.
	time.Sleep(2 * interval)
	t0 := time.Now()
	for _, ln := range lns {
		ln.Close()
	}
	gone := map[string]time.Duration{}
	deadline := t0.Add(3 * (interval*time.Duration(misses) + time.Second))
	for len(gone) < n {
		if time.Now().After(deadline) {
			return fig, errors.New("crashed clients still in the group after three times the bound")
		}
		present := map[string]bool{}
		for i := range b.cl.Size() {
			g, err := b.group(ctx, i, group)
			if err != nil {
				present = nil
				break
			}
			for _, c := range g.Clients() {
				present[c] = true
			}
		}
		if present != nil {
			for _, c := range ids {
				if _, done := gone[c]; !done && !present[c] {
					gone[c] = time.Since(t0)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	var ds []time.Duration
	for _, d := range gone {
		ds = append(ds, d)
	}
	fig.Removal = stats.Of(ds)
	return fig, nil
}
