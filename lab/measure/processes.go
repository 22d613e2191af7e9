package measure

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"time"

	"roster/lab/stats"
)

// Defaults of ProcOptions.
const (
	DefaultGap  = time.Second
	DefaultIdle = 30 * time.Second
	// DefaultIdleGap starts 100 peers in 10 s: all at once, on two cores,
	// they starve each other (a load of about 190) and did not share one
	// view within two minutes.
	DefaultIdleGap = 100 * time.Millisecond
)

// ProcOptions configure RunProcesses.
type ProcOptions struct {
	// Binary is the roster executable the peers run.
	Binary string
	// Peers per run (at least 4) and the number of runs.
	Peers, Runs int
	// Gap is the time between two peers' starts (default DefaultGap).
	Gap time.Duration
	// Idle is the window over which idle CPU is measured (default DefaultIdle).
	Idle time.Duration
	// IdleSizes are group sizes whose idle CPU and RSS are measured too
	// (peers started IdleGap apart, then left alone).
	IdleSizes []int
	// IdleGap is the time between two starts in an IdleSizes group
	// (default DefaultIdleGap).
	IdleGap time.Duration
	// Busy, if positive, runs that many busy loops in the bench process
	// for the whole bench, to starve the peers of CPU.
	Busy int
	// Progress, if set, receives one line per finished step.
	Progress func(string)
}

// ProcReport is the result of RunProcesses; every figure comes from peers
// running as separate processes on loopback addresses.
type ProcReport struct {
	Peers int `json:"peers"`
	Runs  int `json:"runs"`
	// GapMs is the time between two peers' starts.
	GapMs float64 `json:"gap_ms"`
	// Bootstrap: from peer 1's process start to its view 1.
	Bootstrap Stats `json:"bootstrap"`
	// Join: from a peer's process start (peers 2..n) to the first view
	// holding it at every running peer, itself included.
	Join Stats `json:"join"`
	// Startup is the part of Join before the peer's "joining" line: the
	// process's start (the runtime, the packages' initialisation) and the
	// peer's until its ports are bound; the rest is the protocol.
	Startup Stats `json:"join_startup"`
	// CrashToView: from SIGKILL of a follower to a view without it at every
	// survivor; LeaderCrashToView the same for the leader.
	CrashToView       Stats `json:"crash_to_view"`
	LeaderCrashToView Stats `json:"leader_crash_to_view"`
	// Idle is the idle group of Peers peers of the first run, measured over
	// IdleSeconds once every peer had joined.
	Idle IdleReport `json:"idle"`
	// IdleSizes: the same for larger groups started at once.
	IdleSizes []IdleReport `json:"idle_sizes,omitempty"`
	// FalseRemovals are the views that removed a live peer (one the bench
	// had not killed).
	FalseRemovals []string `json:"false_removals"`
	// Busy is the number of busy loops that ran during the bench.
	Busy int `json:"busy_loops,omitempty"`
	// OtherLines are the lines peers printed that are not view records
	// (diagnostics, at the default level), with the peer in front.
	OtherLines []string `json:"other_lines"`
}

// IdleReport is what an idle group of peers uses.
type IdleReport struct {
	Peers       int     `json:"peers"`
	IdleSeconds float64 `json:"idle_seconds"`
	// OneViewMs is, for a larger group, the time from the first start to
	// one view holding every peer at every peer.
	OneViewMs float64 `json:"one_view_ms,omitempty"`
	// Error says why there is no OneViewMs (the group never shared one
	// view); the usage is then of the peers as they were.
	Error string `json:"error,omitempty"`
	// LeaderID is the peer that led at the end of the window; LeaderMoved,
	// if set, says that another one led at its start (the figures then mix
	// both roles).
	LeaderID    int    `json:"leader_id"`
	LeaderMoved string `json:"leader_moved,omitempty"`
	// Leader and Followers (mean and max over the followers) are the CPU
	// time and RSS of each process.
	Leader        Usage   `json:"leader"`
	FollowersMean Usage   `json:"followers_mean"`
	FollowersMax  Usage   `json:"followers_max"`
	TotalCPU      float64 `json:"total_cpu_percent"`
	// PerPeer is every peer's usage, by id.
	PerPeer map[int]Usage `json:"per_peer"`
}

// timeouts of the process bench.
const (
	procJoinTimeout  = 30 * time.Second
	procCrashTimeout = 30 * time.Second
	settleIdle       = 3 * time.Second
	oneViewTimeout   = 3 * time.Minute
)

// RunProcesses measures opts.Runs runs of: peers 1..n started opts.Gap
// apart (join latency from each process start), the idle group's CPU and
// RSS (first run only), a random follower killed, then the leader killed;
// then, for each of opts.IdleSizes, that many peers started at once and
// left idle.
func RunProcesses(opts ProcOptions) (*ProcReport, error) {
	if opts.Peers < 4 {
		return nil, fmt.Errorf("need at least 4 peers to crash a follower and then the leader, got %d", opts.Peers)
	}
	if opts.Gap <= 0 {
		opts.Gap = DefaultGap
	}
	if opts.Idle <= 0 {
		opts.Idle = DefaultIdle
	}
	if opts.IdleGap <= 0 {
		opts.IdleGap = DefaultIdleGap
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	rep := &ProcReport{Peers: opts.Peers, Runs: opts.Runs, GapMs: stats.Ms(opts.Gap), Busy: opts.Busy, FalseRemovals: []string{}}
	if opts.Busy > 0 {
		stop := busyLoops(opts.Busy)
		defer stop()
	}
	var boots, joins, startups, crashes, leaderCrashes []time.Duration
	for r := 0; r < opts.Runs; r++ {
		res, err := procRun(opts, r == 0)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", r+1, err)
		}
		boots = append(boots, res.joins[0])
		joins = append(joins, res.joins[1:]...)
		startups = append(startups, res.startups...)
		crashes = append(crashes, res.crash)
		leaderCrashes = append(leaderCrashes, res.leaderCrash)
		rep.OtherLines = append(rep.OtherLines, res.other...)
		for _, f := range res.falseRemovals {
			rep.FalseRemovals = append(rep.FalseRemovals, fmt.Sprintf("run %d: %s", r+1, f))
		}
		if r == 0 {
			rep.Idle = res.idle
		}
		progress(fmt.Sprintf("run %d/%d: joins %v, crash→view %v, leader crash→view %v", r+1, opts.Runs,
			roundAll(res.joins[1:]), res.crash.Round(time.Millisecond), res.leaderCrash.Round(time.Millisecond)))
	}
	rep.Bootstrap, rep.Join, rep.Startup = Summarize(boots), Summarize(joins), Summarize(startups)
	rep.CrashToView, rep.LeaderCrashToView = Summarize(crashes), Summarize(leaderCrashes)
	for _, n := range opts.IdleSizes {
		idle, other, falseRemovals, err := procIdleGroup(opts, n)
		if err != nil {
			return nil, fmt.Errorf("%d peers: %w", n, err)
		}
		rep.IdleSizes = append(rep.IdleSizes, idle)
		rep.OtherLines = append(rep.OtherLines, other...)
		for _, f := range falseRemovals {
			rep.FalseRemovals = append(rep.FalseRemovals, fmt.Sprintf("%d peers: %s", n, f))
		}
		progress(fmt.Sprintf("%d peers: one view after %.0f ms%s; idle CPU leader %.2f%%, followers mean %.2f%%, all %.1f%% of a core",
			n, idle.OneViewMs, idle.Error, idle.Leader.CPUPercent, idle.FollowersMean.CPUPercent, idle.TotalCPU))
	}
	if rep.OtherLines == nil {
		rep.OtherLines = []string{}
	}
	return rep, nil
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// procRunResult is one run of RunProcesses.
type procRunResult struct {
	joins              []time.Duration // peer 1's bootstrap first
	startups           []time.Duration // of peers 2..n: start to "joining"
	crash, leaderCrash time.Duration
	idle               IdleReport
	other              []string
	falseRemovals      []string
}

func newProcDir() (string, func(), error) {
	dir, err := os.MkdirTemp("", "roster-bench-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

func procRun(opts ProcOptions, measureIdle bool) (res procRunResult, err error) {
	dir, cleanup, err := newProcDir()
	if err != nil {
		return res, err
	}
	defer cleanup()
	c, err := newProcCluster(opts.Binary, dir, opts.Peers)
	if err != nil {
		return res, err
	}
	defer c.close()
	next := time.Now()
	for id := 1; id <= opts.Peers; id++ {
		time.Sleep(time.Until(next))
		next = next.Add(opts.Gap)
		started, err := c.start(id)
		if err != nil {
			return res, err
		}
		peers := c.running()
		last, err := c.everyoneSees(peers, started, procJoinTimeout, fmt.Sprintf("peer %d in the view at every peer", id),
			func(v printed) bool { return slices.Contains(v.members, id) })
		if err != nil {
			return res, err
		}
		res.joins = append(res.joins, last.Sub(started))
		if at, ok := c.joinedAt(id); ok && id > 1 {
			res.startups = append(res.startups, at.Sub(started))
		}
	}
	if measureIdle {
		time.Sleep(settleIdle)
		if res.idle, err = idleOf(c, opts.Idle); err != nil {
			return res, err
		}
	}
	leader := c.currentLeader()
	var followers []int
	for _, id := range c.running() {
		if id != leader {
			followers = append(followers, id)
		}
	}
	if res.crash, err = killAndWait(c, followers[rand.IntN(len(followers))]); err != nil {
		return res, err
	}
	if res.leaderCrash, err = killAndWait(c, c.currentLeader()); err != nil {
		return res, err
	}
	res.other = c.otherLines()
	res.falseRemovals = c.falseRemovals()
	return res, nil
}

// killAndWait kills peer id and returns the time until every survivor
// printed a view without it.
func killAndWait(c *procCluster, id int) (time.Duration, error) {
	at, err := c.kill(id)
	if err != nil {
		return 0, err
	}
	last, err := c.everyoneSees(c.running(), at, procCrashTimeout, fmt.Sprintf("a view without peer %d at every survivor", id),
		func(v printed) bool { return !slices.Contains(v.members, id) })
	if err != nil {
		return 0, err
	}
	return last.Sub(at), nil
}

// idleOf measures the running peers of c over window.
func idleOf(c *procCluster, window time.Duration) (IdleReport, error) {
	pids := c.pids()
	before := c.raftLeader()
	use, err := sampleUsage(pids, window)
	if err != nil {
		return IdleReport{}, err
	}
	// The leader is the one the peers name (a change of leader changes no
	// view); the last view's when none answers.
	leader := c.currentLeader()
	rep := IdleReport{Peers: len(pids), IdleSeconds: window.Seconds(), PerPeer: use, Leader: use[leader], LeaderID: leader}
	if before != leader {
		rep.LeaderMoved = fmt.Sprintf("the leader was peer %d at the start of the window, peer %d at its end", before, leader)
	}
	var ids []int
	for id := range use {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	n := 0
	for _, id := range ids {
		u := use[id]
		rep.TotalCPU += u.CPUPercent
		if id == leader {
			continue
		}
		n++
		rep.FollowersMean.CPUPercent += u.CPUPercent
		rep.FollowersMean.RSSMB += u.RSSMB
		rep.FollowersMean.AnonMB += u.AnonMB
		rep.FollowersMean.FileMB += u.FileMB
		rep.FollowersMax.CPUPercent = max(rep.FollowersMax.CPUPercent, u.CPUPercent)
		rep.FollowersMax.RSSMB = max(rep.FollowersMax.RSSMB, u.RSSMB)
		rep.FollowersMax.AnonMB = max(rep.FollowersMax.AnonMB, u.AnonMB)
		rep.FollowersMax.FileMB = max(rep.FollowersMax.FileMB, u.FileMB)
	}
	if n > 0 {
		rep.FollowersMean.CPUPercent /= float64(n)
		rep.FollowersMean.RSSMB /= float64(n)
		rep.FollowersMean.AnonMB /= float64(n)
		rep.FollowersMean.FileMB /= float64(n)
	}
	return rep, nil
}

// procIdleGroup starts n peers at once, waits for one view holding them
// all, lets them settle, and measures them idle.
func procIdleGroup(opts ProcOptions, n int) (IdleReport, []string, []string, error) {
	dir, cleanup, err := newProcDir()
	if err != nil {
		return IdleReport{}, nil, nil, err
	}
	defer cleanup()
	c, err := newProcCluster(opts.Binary, dir, n)
	if err != nil {
		return IdleReport{}, nil, nil, err
	}
	defer c.close()
	var first time.Time
	for id := 1; id <= n; id++ {
		if id > 1 {
			time.Sleep(opts.IdleGap)
		}
		started, err := c.start(id)
		if err != nil {
			return IdleReport{}, nil, nil, err
		}
		if id == 1 {
			first = started
		}
	}
	all := c.running()
	last, viewErr := c.everyoneSees(all, first, oneViewTimeout, fmt.Sprintf("one view of all %d peers", n),
		func(v printed) bool { return len(v.members) == n })
	time.Sleep(settleIdle)
	// Without one view the peers are measured as they are, and the report
	// says so.
	rep, err := idleOf(c, opts.Idle)
	if err != nil {
		return IdleReport{}, nil, nil, err
	}
	if viewErr != nil {
		rep.Error = viewErr.Error()
	} else {
		rep.OneViewMs = stats.Ms(last.Sub(first))
	}
	return rep, c.otherLines(), c.falseRemovals(), nil
}
