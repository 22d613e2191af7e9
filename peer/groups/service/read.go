package service

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"roster/peer/api"
	"roster/peer/groups"
)

// barrierTimeout bounds the hand-over of a read barrier to Raft.
const barrierTimeout = time.Second

// barrier serves consistent reads on the leader: a read waits for a Raft
// barrier that started after it arrived. A barrier is a log entry the
// leader must commit in its own term, so once it is applied this peer still
// led when the read began, and its state holds every write acknowledged
// before. Reads that arrive while a barrier is running share the next one.
// Safe for concurrent use.
type barrier struct {
	raft    *raft.Raft
	mu      sync.Mutex
	next    *round // the round new reads wait for; not started
	running bool
}

type round struct {
	done chan struct{}
	err  error
}

// wait returns once a barrier that started after the call was applied.
func (b *barrier) wait(ctx context.Context) error {
	b.mu.Lock()
	if b.next == nil {
		b.next = &round{done: make(chan struct{})}
	}
	r := b.next
	if !b.running {
		b.running = true
		go b.run()
	}
	b.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run runs rounds until no read waits; each ends with the barrier applied,
// leadership lost or Raft shut down.
func (b *barrier) run() {
	for {
		b.mu.Lock()
		r := b.next
		b.next = nil
		if r == nil {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		r.err = b.raft.Barrier(barrierTimeout).Error()
		close(r.done)
	}
}

// Group implements api.Groups.
func (s *Service) Group(ctx context.Context, name string, q api.ReadQuery, o api.Origin) (api.GroupResponse, error) {
	var out api.GroupResponse
	if fwd, err := s.consistent(ctx, q, o, "/v1/groups/"+url.PathEscape(name), &out); fwd || err != nil {
		return out, err
	}
	deadline := waitDeadline(q)
	for {
		v, listIndex, changed := s.cfg.State.Group(name)
		index := listIndex // an unknown group reads at the list's index
		if v != nil {
			index = v.Index
		}
		if !q.HasIndex || index > q.Index || !s.waitFor(ctx, changed, deadline) {
			if v == nil {
				e := api.Errorf(http.StatusNotFound, "no group %q (no members)", name)
				e.Index = listIndex
				return out, e
			}
			return s.answer(v), nil
		}
	}
}

// List implements api.Groups.
func (s *Service) List(ctx context.Context, q api.ReadQuery, o api.Origin) (api.GroupsResponse, error) {
	var out api.GroupsResponse
	if fwd, err := s.consistent(ctx, q, o, "/v1/groups", &out); fwd || err != nil {
		return out, err
	}
	deadline := waitDeadline(q)
	for {
		list, index, changed := s.cfg.State.List()
		if !q.HasIndex || index > q.Index || !s.waitFor(ctx, changed, deadline) {
			out = api.GroupsResponse{Index: index, Groups: make(map[string]api.GroupSummary, len(list))}
			for name, g := range list {
				out.Groups[name] = api.GroupSummary{Index: g.Index, Size: g.Size}
			}
			return out, nil
		}
	}
}

// consistent prepares a consistent read: on the leader it waits for a
// barrier (then the local state is linearizable); elsewhere it forwards the
// read to the leader, whose answer goes into out (forwarded is true then).
func (s *Service) consistent(ctx context.Context, q api.ReadQuery, o api.Origin, path string, out any) (forwarded bool, err error) {
	if !q.Consistent {
		return false, nil
	}
	ctx, stop := s.stopped(ctx)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	var leaderless time.Time
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !sleep(ctx, retryDelay(attempt)) {
			return false, unavailable("no consistent read within %s", writeTimeout)
		}
		if s.cfg.Raft.State() == raft.Leader {
			err := s.barrier.wait(ctx)
			if err == nil {
				return false, nil
			}
			if errors.Is(err, raft.ErrRaftShutdown) {
				return false, unavailable("the peer is shutting down")
			}
			continue
		}
		if o.Forwarded != 0 {
			return false, unavailable("peer %d is not the leader", s.cfg.Self)
		}
		addr, ok := s.leaderAPI()
		if !ok {
			if leaderless.IsZero() {
				leaderless = time.Now()
			} else if time.Since(leaderless) > leaderWait {
				return false, unavailable("no leader for %s: the cluster has no quorum", leaderWait)
			}
			continue
		}
		leaderless = time.Time{}
		err := s.forward(ctx, addr, http.MethodGet, path+q.Encode(), o, writeTimeout, blockWait(q), out)
		var he *api.HTTPError
		if err == nil || errors.As(err, &he) && he.Code != http.StatusServiceUnavailable {
			return true, err
		}
	}
}

// blockWait returns the most a blocking read of q may wait.
func blockWait(q api.ReadQuery) time.Duration {
	if !q.HasIndex {
		return 0
	}
	w := q.Wait
	if w <= 0 || w > api.MaxWait {
		w = min(api.DefaultWait, api.MaxWait)
	}
	return w + w/16
}

// waitDeadline returns when a blocking read of q gives up: its wait (capped)
// plus up to 1/16 of it at random, so that many watchers do not all come
// back at once.
func waitDeadline(q api.ReadQuery) time.Time {
	if !q.HasIndex {
		return time.Time{}
	}
	w := q.Wait
	if w <= 0 || w > api.MaxWait {
		w = min(api.DefaultWait, api.MaxWait)
	}
	jitter := time.Duration(rand.Int64N(int64(w/16) + 1))
	return time.Now().Add(w + jitter)
}

// waitFor waits until changed is closed (true) or the deadline or ctx
// passes, or the service stops (false). A blocking read waits here: it
// makes no context of its own, as a thousand watchers wait at once.
func (s *Service) waitFor(ctx context.Context, changed <-chan struct{}, deadline time.Time) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-changed:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	case <-s.life.Done():
		return false
	}
}

// answer returns the API answer for a group state under the current view,
// computed and encoded once per (state, view) for all readers.
func (s *Service) answer(v *groups.GroupView) api.GroupResponse {
	viewID, members := s.cfg.Members()
	return v.Memo(viewID, func() any {
		resp := api.GroupResponse{Group: v.Name, Index: v.Index, Members: make([]api.Member, len(v.Members))}
		for i, m := range v.Members {
			resp.Members[i] = api.Member{Client: m.Client, Addr: m.Addr, Incarnation: m.Incarnation, Owner: groups.Owner(v.Name, m.Client, members), Meta: m.Meta}
		}
		resp.Encode()
		return resp
	}).(api.GroupResponse)
}
