package nemesis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"roster/lab/fault"
)

// DefaultRetry is how long a step keeps trying a peer that does not answer.
const DefaultRetry = 3 * time.Second

// retryEvery is the wait between two tries of one peer.
const retryEvery = 200 * time.Millisecond

// Procs kills and starts peer processes by name: the lab runner's Control.
type Procs interface {
	Kill(name string) error
	Start(name string) error
}

// Runner executes schedules against peers. Set its fields before the first
// call; its methods are then safe for concurrent use.
type Runner struct {
	// Peers are the peers to drive.
	Peers *Peers
	// Procs, when set, carries out kill and start; without it those steps fail.
	Procs Procs
	// Retry is how long a step keeps trying a peer that does not answer
	// (DefaultRetry when 0).
	Retry time.Duration
	// HTTP is the client for the fault API (nil: a client with a 2 s timeout).
	HTTP *http.Client
	// Token is the peers' API token (--api-token), "" for none.
	Token string
	// Log receives one line per step done; nil for none.
	Log func(string)
}

// Result is what one action did. Plain data.
type Result struct {
	// OK names the peers the action reached.
	OK []string
	// Failed maps each peer the action did not reach to why.
	Failed map[string]string
}

// Err is nil when the action reached some peer, else an error saying why not.
func (r Result) Err() error {
	if len(r.OK) > 0 {
		return nil
	}
	var why []string
	for name, e := range r.Failed {
		why = append(why, name+": "+e)
	}
	if len(why) == 0 {
		return errors.New("no peer to act on")
	}
	return errors.New(strings.Join(why, "; "))
}

// String says where the action worked and where not, in one line.
func (r Result) String() string {
	var parts []string
	if len(r.OK) > 0 {
		parts = append(parts, "ok at "+strings.Join(r.OK, ","))
	}
	for _, name := range slices.Sorted(maps.Keys(r.Failed)) {
		parts = append(parts, fmt.Sprintf("failed at %s (%s)", name, r.Failed[name]))
	}
	if len(parts) == 0 {
		return "no peer to act on"
	}
	return strings.Join(parts, "; ")
}

// Run does each step at start+step.At, in order, until the steps are done or
// ctx ends, and returns how many steps reached none of their peers. Steps
// whose time has passed run at once.
func (r *Runner) Run(ctx context.Context, start time.Time, steps []Step) (failed int) {
	for _, s := range steps {
		if wait := time.Until(start.Add(s.At)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return failed
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return failed
		}
		res := r.Do(ctx, s.Action)
		if res.Err() != nil {
			failed++
		}
		if r.Log != nil {
			r.Log(fmt.Sprintf("nemesis: %6.2fs %s: %s", time.Since(start).Seconds(), s, res))
		}
	}
	return failed
}

// Do carries out one action now.
func (r *Runner) Do(ctx context.Context, a Action) Result {
	switch a.Kind {
	case Partition:
		var sides [][]int
		for _, side := range a.Sides {
			var ids []int
			for _, ref := range side {
				id, err := r.Peers.ID(ctx, ref)
				if err != nil {
					return Result{Failed: map[string]string{ref: err.Error()}}
				}
				ids = append(ids, id)
			}
			sides = append(sides, ids)
		}
		if err := fault.ValidatePartition(sides); err != nil {
			return Result{Failed: map[string]string{"partition": err.Error()}}
		}
		return r.each(ctx, r.Peers.All(), func(c fault.Client) error {
			_, err := c.Partition(ctx, sides)
			return err
		})
	case Heal:
		return r.each(ctx, r.Peers.All(), func(c fault.Client) error {
			_, err := c.Heal(ctx)
			return err
		})
	case Pause, Resume:
		t, err := r.Peers.Resolve(ctx, a.Peers[0])
		if err != nil {
			return Result{Failed: map[string]string{a.Peers[0]: err.Error()}}
		}
		return r.each(ctx, []Target{t}, func(c fault.Client) error {
			var err error
			if a.Kind == Pause {
				_, err = c.Pause(ctx, a.For)
			} else {
				_, err = c.Resume(ctx)
			}
			return err
		})
	case Loss, Delay, Clear:
		ts, res := r.targets(ctx, a.Peers)
		if len(ts) == 0 {
			return res
		}
		more := r.each(ctx, ts, func(c fault.Client) error {
			if a.Kind == Clear {
				_, err := c.Clear(ctx)
				return err
			}
			st, err := c.Get(ctx)
			if err != nil {
				return err
			}
			_, err = c.Set(ctx, fault.State{Rules: withLink(st.Rules, a), Partition: st.Partition})
			return err
		})
		return merge(res, more)
	case CutClient, HealClient:
		return r.clientCut(ctx, a)
	case Kill, Start:
		if r.Procs == nil {
			return Result{Failed: map[string]string{a.Peers[0]: a.Kind.String() + " needs the lab runner's control of the processes (roster lab soak)"}}
		}
		t, err := r.Peers.Resolve(ctx, a.Peers[0])
		if err != nil {
			return Result{Failed: map[string]string{a.Peers[0]: err.Error()}}
		}
		if a.Kind == Kill {
			err = r.Procs.Kill(t.Name)
		} else {
			err = r.Procs.Start(t.Name)
		}
		if err != nil {
			return Result{Failed: map[string]string{t.Name: err.Error()}}
		}
		return Result{OK: []string{t.Name}}
	}
	return Result{Failed: map[string]string{"action": fmt.Sprintf("unknown action %v", a.Kind)}}
}

// targets resolves a list of peer references (none: every peer).
func (r *Runner) targets(ctx context.Context, refs []string) ([]Target, Result) {
	if len(refs) == 0 {
		return r.Peers.All(), Result{}
	}
	var ts []Target
	res := Result{}
	for _, ref := range refs {
		t, err := r.Peers.Resolve(ctx, ref)
		if err != nil {
			if res.Failed == nil {
				res.Failed = map[string]string{}
			}
			res.Failed[ref] = err.Error()
			continue
		}
		ts = append(ts, t)
	}
	return ts, res
}

// withLink returns rules with the link rule (the one that matches every
// peer, all traffic, what this peer sends, and blocks nothing) changed as a
// asks: its loss for Loss, its delay for Delay. A link rule left with no
// effect is dropped. Link rules act on sent traffic only, so that when every
// peer has one, each link loses (or delays) each way once, not twice.
func withLink(rules []fault.Rule, a Action) []fault.Rule {
	var out []fault.Rule
	var link fault.Rule
	for _, r := range rules {
		if isLink(r) {
			link = r
			continue
		}
		out = append(out, r)
	}
	if a.Kind == Loss {
		link.Loss = a.Loss
	} else {
		link.Delay, link.Jitter = fault.Duration(a.Delay), fault.Duration(a.Jitter)
	}
	if link.Loss > 0 || link.Delay > 0 {
		out = append(out, fault.Rule{Dir: fault.Out, Loss: link.Loss, Delay: link.Delay, Jitter: link.Jitter})
	}
	return out
}

func isLink(r fault.Rule) bool {
	return len(r.Peers) == 0 && r.Dir == fault.Out && (r.Scope == "" || r.Scope == fault.All) && !r.Block
}

// each calls do on every target's fault API at once, each retried until
// Retry passes, and collects the outcome in target order.
func (r *Runner) each(ctx context.Context, ts []Target, do func(fault.Client) error) Result {
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.retry(ctx, func() error {
				return do(fault.Client{BaseURL: "http://" + t.API, HTTP: r.client(), Token: r.Token})
			})
		}()
	}
	wg.Wait()
	res := Result{}
	for i, t := range ts {
		if errs[i] == nil {
			res.OK = append(res.OK, t.Name)
			continue
		}
		if res.Failed == nil {
			res.Failed = map[string]string{}
		}
		res.Failed[t.Name] = explain(errs[i])
	}
	return res
}

// retry calls f until it succeeds, the peer refuses the request for good
// (an HTTP 4xx), Retry passes, or ctx ends.
func (r *Runner) retry(ctx context.Context, f func() error) error {
	limit := r.Retry
	if limit <= 0 {
		limit = DefaultRetry
	}
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil || final(err) || time.Now().Add(retryEvery).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(retryEvery):
		}
	}
}

// final reports whether a fault API error will not go away by trying again.
func final(err error) bool {
	s := err.Error()
	return strings.Contains(s, ": 400 ") || strings.Contains(s, ": 404 ") || strings.Contains(s, ": 405 ")
}

// explain shortens a fault API error for the step's line, with a hint for
// peers that do not serve the fault API.
func explain(err error) string {
	s := err.Error()
	if strings.Contains(s, ": 404 ") {
		return "no fault API (start the peer with --faults)"
	}
	if i := strings.LastIndex(s, ": dial tcp "); i >= 0 {
		if j := strings.LastIndex(s, ": "); j > i {
			return "not answering: " + s[j+2:]
		}
	}
	return s
}

func (r *Runner) client() *http.Client {
	if r.HTTP != nil {
		return r.HTTP
	}
	return &http.Client{Timeout: 2 * time.Second}
}

func merge(a, b Result) Result {
	out := Result{OK: append(a.OK, b.OK...)}
	for _, m := range []map[string]string{a.Failed, b.Failed} {
		for k, v := range m {
			if out.Failed == nil {
				out.Failed = map[string]string{}
			}
			out.Failed[k] = v
		}
	}
	return out
}
