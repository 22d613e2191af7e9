// Package measure times a roster cluster: how long a joining peer takes to
// be in the view at every peer, how long a crash takes to leave it at every
// survivor, and how long many peers started at once take to share one
// view. It runs real peers in process (localcluster).
package measure

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"roster/lab/localcluster"
	"roster/peer/config"
	"roster/peer/fsm"
)

// Report is the result of Run.
type Report struct {
	Peers int `json:"peers"`
	Runs  int `json:"runs"`
	// Bootstrap: from peer 1's start to view 1 (a Raft election included).
	Bootstrap Stats `json:"bootstrap"`
	// Join: from a peer's start to the view containing it at every running
	// peer (peers 2..n).
	Join Stats `json:"join"`
	// CrashToView: from a follower's crash to a view without it at every survivor.
	CrashToView Stats `json:"crash_to_view"`
	// LeaderCrashToView: the same for a crash of the leader (failover included).
	LeaderCrashToView Stats `json:"leader_crash_to_view"`
	// AtOnce: for each group size, the time from starting every peer at
	// once to one view holding them all, at every peer (one run each).
	AtOnce map[int]float64 `json:"at_once_ms,omitempty"`
	// AtOnceFailed: for each group size that did not form one view within
	// Options.AtOnceTimeout, what the peers held then.
	AtOnceFailed map[int]string `json:"at_once_failed,omitempty"`
}

// Options configure Run.
type Options struct {
	Peers  int
	Runs   int
	AtOnce []int
	// AtOnceTimeout bounds the wait for one view of each AtOnce group
	// (default DefaultAtOnceTimeout).
	AtOnceTimeout time.Duration
	// Progress, if set, receives one line per finished run.
	Progress func(string)
}

const settle = 30 * time.Second

// DefaultAtOnceTimeout is Options.AtOnceTimeout's default.
const DefaultAtOnceTimeout = 60 * time.Second

// Run measures opts.Runs runs of: peers 1..n joining one by one, a random
// follower crashing, then the leader crashing; then one run per AtOnce size.
func Run(opts Options) (*Report, error) {
	if opts.Peers < 4 {
		return nil, fmt.Errorf("need at least 4 peers to crash a follower and then the leader (a two-member group has one voter), got %d", opts.Peers)
	}
	if opts.AtOnceTimeout <= 0 {
		opts.AtOnceTimeout = DefaultAtOnceTimeout
	}
	rep := &Report{Peers: opts.Peers, Runs: opts.Runs, AtOnce: map[int]float64{}}
	var boots, joins, crashes, leaderCrashes []time.Duration
	for r := 0; r < opts.Runs; r++ {
		j, c, lc, err := oneRun(opts.Peers)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", r+1, err)
		}
		boots = append(boots, j[0])
		joins = append(joins, j[1:]...)
		crashes = append(crashes, c)
		leaderCrashes = append(leaderCrashes, lc)
		if opts.Progress != nil {
			opts.Progress(fmt.Sprintf("run %d/%d: crash→view %v, leader crash→view %v", r+1, opts.Runs, c.Round(time.Millisecond), lc.Round(time.Millisecond)))
		}
	}
	rep.Bootstrap, rep.Join, rep.CrashToView, rep.LeaderCrashToView = Summarize(boots), Summarize(joins), Summarize(crashes), Summarize(leaderCrashes)
	for _, n := range opts.AtOnce {
		d, err := atOnce(n, opts.AtOnceTimeout)
		var none *noView
		switch {
		case errors.As(err, &none):
			// A size that does not converge is a result, and the next
			// sizes are still measured.
			if rep.AtOnceFailed == nil {
				rep.AtOnceFailed = map[int]string{}
			}
			rep.AtOnceFailed[n] = none.Error()
			if opts.Progress != nil {
				opts.Progress(fmt.Sprintf("%d peers at once: %v", n, none))
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("%d peers at once: %w", n, err)
		}
		rep.AtOnce[n] = float64(d.Microseconds()) / 1000
		if opts.Progress != nil {
			opts.Progress(fmt.Sprintf("%d peers at once: one view after %v", n, d.Round(time.Millisecond)))
		}
	}
	return rep, nil
}

// noView is atOnce's error when the group formed no single view in time.
type noView struct{ err error }

func (e *noView) Error() string { return "no single view: " + e.err.Error() }

func newCluster(n int) (*localcluster.Cluster, func(), error) {
	dir, err := os.MkdirTemp("", "roster-measure-")
	if err != nil {
		return nil, nil, err
	}
	c, err := localcluster.New(dir, n)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	if l := os.Getenv("ROSTER_LOG_LEVEL"); l != "" {
		c.LogLevel = l // the peers' diagnostics, on stderr
	}
	return c, func() { c.Close(); os.RemoveAll(dir) }, nil
}

func oneRun(n int) (joins []time.Duration, crash, leaderCrash time.Duration, err error) {
	c, done, err := newCluster(n)
	if err != nil {
		return nil, 0, 0, err
	}
	defer done()
	for id := 1; id <= n; id++ {
		start := time.Now()
		if err := c.Start(id); err != nil {
			return nil, 0, 0, err
		}
		if _, err := c.WaitView(localcluster.Ids(1, id), settle); err != nil {
			return nil, 0, 0, err
		}
		joins = append(joins, lastInstall(c, start, func(v fsm.View) bool { return v.Contains(id) }).Sub(start))
	}
	leader := c.Node(1).View().Leader
	var followers []int
	for _, id := range c.Running() {
		if id != leader {
			followers = append(followers, id)
		}
	}
	if crash, err = crashAndWait(c, followers[rand.IntN(len(followers))]); err != nil {
		return nil, 0, 0, err
	}
	// Crash the leader only once the crashed follower's vote is replaced:
	// two voters of three down at once would leave no quorum, by design.
	if err := waitVotersRunning(c, leader); err != nil {
		return nil, 0, 0, err
	}
	if leaderCrash, err = crashAndWait(c, leader); err != nil {
		return nil, 0, 0, err
	}
	return joins, crash, leaderCrash, nil
}

// waitVotersRunning waits until the Raft configuration of peer at has as
// many voters as its view calls for (the odd voter policy: the largest odd
// number up to the member count, at most config.DefaultVoters), all of
// them running peers.
func waitVotersRunning(c *localcluster.Cluster, at int) error {
	deadline := time.Now().Add(settle)
	for {
		running := c.Running()
		n := c.Node(at)
		voters := n.Voters()
		want := min(len(n.View().Members), config.DefaultVoters)
		if want%2 == 0 {
			want--
		}
		ok := len(voters) == want
		for _, v := range voters {
			ok = ok && slices.Contains(running, v)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("voters %v still include a crashed peer after %v (running %v)", voters, settle, running)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// crashAndWait crashes id and returns the time until every survivor
// installed a view without it.
func crashAndWait(c *localcluster.Cluster, id int) (time.Duration, error) {
	start := time.Now()
	c.Crash(id)
	survivors := c.Running()
	if _, err := c.WaitView(survivors, settle); err != nil {
		return 0, err
	}
	return lastInstall(c, start, func(v fsm.View) bool { return !v.Contains(id) }).Sub(start), nil
}

// lastInstall returns when the last running peer first installed, after
// since, a view that satisfies ok.
func lastInstall(c *localcluster.Cluster, since time.Time, ok func(fsm.View) bool) time.Time {
	first := map[int]time.Time{}
	for _, in := range c.Installs() {
		if in.At.Before(since) || !ok(in.View) {
			continue
		}
		if _, seen := first[in.Peer]; !seen {
			first[in.Peer] = in.At
		}
	}
	var last time.Time
	for _, id := range c.Running() {
		if t := first[id]; t.After(last) {
			last = t
		}
	}
	return last
}

// atOnce starts n peers at once and returns the time until every one holds
// the view of all n; a *noView error when that did not happen within limit.
func atOnce(n int, limit time.Duration) (time.Duration, error) {
	c, done, err := newCluster(n)
	if err != nil {
		return 0, err
	}
	defer done()
	start := time.Now()
	if err := c.StartAll(n); err != nil {
		return 0, err
	}
	want := localcluster.Ids(1, n)
	if _, err := c.WaitView(want, limit); err != nil {
		return 0, &noView{err}
	}
	return lastInstall(c, start, func(v fsm.View) bool { return slices.Equal(v.Members, want) }).Sub(start), nil
}
