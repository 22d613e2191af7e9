package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"roster/peer/api"
	"roster/peer/groups"
)

// write commits op and answers once it committed. On the leader the op goes
// into the batcher; elsewhere the request (req, to the group's path +
// suffix) is forwarded to the leader, whose answer is decoded into out. The
// answer does not wait for this peer to apply the entry (a follower learns
// of a commit up to 20 ms later): a read here right after may not show it
// yet; a blocking read with ?index=index-1, or a consistent read, does. It returns the op's result and the
// entry's index when the op was committed here, zeros when it was
// forwarded (out holds the answer). Errors are *api.HTTPError: 503 with
// Retry-After when no leader could commit in time. A write is one op in one
// entry: it commits whole or not at all.
func (s *Service) write(ctx context.Context, op groups.Op, o api.Origin, suffix string, req, out any) (groups.OpResult, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	ctx, stop := s.stopped(ctx)
	defer stop()
	body, err := json.Marshal(req)
	if err != nil {
		return groups.OpResult{}, 0, api.Errorf(http.StatusBadRequest, "%v", err)
	}
	path := "/v1/groups/" + url.PathEscape(op.Group) + suffix
	header := forwardHeader(o, s.cfg.Self)
	var last error
	var leaderless time.Time // since when no leader is known
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !sleep(ctx, retryDelay(attempt)) {
			break
		}
		if s.cfg.Raft.State() == raft.Leader {
			res, index, err := s.batch.submit(ctx, op)
			switch {
			case err == nil && res.Err != nil:
				return res, index, api.Errorf(http.StatusBadRequest, "%v", res.Err)
			case err == nil:
				return res, index, nil
			case errors.Is(err, raft.ErrRaftShutdown):
				return res, 0, unavailable("the peer is shutting down")
			}
			last = err
			continue
		}
		if o.Forwarded != 0 {
			// The forwarder's idea of the leader is stale: it asks again.
			return groups.OpResult{}, 0, unavailable("peer %d is not the leader", s.cfg.Self)
		}
		addr, ok := s.leaderAPI()
		if !ok {
			if leaderless.IsZero() {
				leaderless = time.Now()
			} else if time.Since(leaderless) > leaderWait {
				return groups.OpResult{}, 0, unavailable("no leader for %s: the cluster has no quorum", leaderWait)
			}
			last = errors.New("no leader known")
			continue
		}
		leaderless = time.Time{}
		err := s.peers.Do(ctx, addr, http.MethodPost, path, body, header, 0, out)
		if err == nil {
			return groups.OpResult{}, 0, nil
		}
		var he *api.HTTPError
		if errors.As(err, &he) && he.Code != http.StatusServiceUnavailable {
			return groups.OpResult{}, 0, he
		}
		last = err
	}
	if last == nil {
		last = ctx.Err()
	}
	return groups.OpResult{}, 0, unavailable("not committed within %s (%v); it may still commit", writeTimeout, last)
}

// forwardHeader returns the headers of a request forwarded by peer self.
func forwardHeader(o api.Origin, self int) http.Header {
	h := o.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(api.ForwardedHeader, strconv.Itoa(self))
	return h
}

// retryDelay is the pause before attempt n of a write: 10 ms, doubling, at
// most 200 ms.
func retryDelay(n int) time.Duration {
	d := 10 * time.Millisecond << min(n-1, 5)
	return min(d, 200*time.Millisecond)
}

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// leaderAPI returns the API address of the current leader, if another peer
// leads and its address is known.
func (s *Service) leaderAPI() (string, bool) {
	_, lid := s.cfg.Raft.LeaderWithID()
	id, err := strconv.Atoi(string(lid))
	if err != nil || id == s.cfg.Self {
		return "", false
	}
	return s.cfg.PeerAPI(id)
}

// forward sends a request to another peer (not a write: a read, a keepalive
// or a check) and decodes its answer into out. extra lengthens the timeout
// (a blocking read's wait).
func (s *Service) forward(ctx context.Context, addr, method, path string, o api.Origin, timeout, extra time.Duration, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout+extra)
	defer cancel()
	err := s.peers.Do(ctx, addr, method, path, nil, forwardHeader(o, s.cfg.Self), extra, out)
	var he *api.HTTPError
	if err != nil && !errors.As(err, &he) {
		return unavailable("%s", fmt.Sprint(err))
	}
	return err
}
