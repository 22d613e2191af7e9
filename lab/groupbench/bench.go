// Package groupbench measures client groups on local peer processes:
// `roster lab bench groups`. Each figure is measured from outside, through
// the HTTP API, the way a user's clients see the service: a join through a
// follower, many clients joining at once until every peer serves them all,
// watchers' delivery latency with blocking queries, a crashed client's
// removal at every peer, and an owner's CPU as it checks its clients, with
// how that cost grows with clients and groups.
package groupbench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"roster/lab/groupload"
	"roster/lab/stats"
	"roster/peer/api"
)

// Options configure Run. Zero fields take Defaults' values.
type Options struct {
	// Peers is the size of the cluster of the latency figures.
	Peers int
	// Joins is the number of sequential joins through a follower.
	Joins int
	// AtOnce is the number of clients that join at once.
	AtOnce int
	// Watchers watch one group with blocking queries while Changes
	// changes are committed.
	Watchers, Changes int
	// Crashes is the number of clients crashed at once.
	Crashes int
	// CPUClients are the numbers of clients one owner checks while its CPU
	// is measured (a one-peer cluster, which owns every client), and
	// CPUGroups the numbers of groups the largest of them is spread over.
	CPUClients, CPUGroups []int
	// CPUWindow is how long each CPU figure is measured.
	CPUWindow time.Duration
	// CPUOnly skips the latency figures (the five-peer cluster).
	CPUOnly bool
	// Roster is the roster binary ("" for this executable).
	Roster string
	// PeerArgs are extra flags for every peer.
	PeerArgs []string
	// Progress receives a line per figure (nil: none).
	Progress func(string)
}

// Defaults are the values of Options' zero fields.
var Defaults = Options{
	Peers: 5, Joins: 500, AtOnce: 1000, Watchers: 1000, Changes: 20, Crashes: 5,
	CPUClients: []int{1000, 5000, 10000}, CPUGroups: []int{1, 100}, CPUWindow: 20 * time.Second,
}

// Report holds the figures. Latencies are in milliseconds.
type Report struct {
	Date  string `json:"date"`
	Peers int    `json:"peers"`
	// ClientInterval and ClientMisses are the peers' settings (defaults).
	ClientInterval string `json:"client_interval"`
	ClientMisses   int    `json:"client_misses"`
	// JoinFollower: a join sent to a follower, to its answer (committed).
	JoinFollower stats.Summary `json:"join_through_follower"`
	// AtOnce: AtOnce clients join at once; AllMs is the time from the first
	// call to every peer serving all of them, Joins their join latencies.
	AtOnce AtOnceFigure `json:"at_once"`
	// Watch: the delay from a join's answer (after its commit) to each
	// watcher's blocking query returning with it, and from the join's call.
	Watch WatchFigure `json:"watch"`
	// CrashRemoval: a client's crash to its absence at every peer.
	CrashRemoval CrashFigure `json:"crash_removal"`
	// OwnerCPU: one owner's CPU while it checks its clients.
	OwnerCPU []CPUPoint `json:"owner_cpu"`
	// ConnectFloor: the same checks a second as the largest OwnerCPU
	// point, made by one thread of the bench with nothing else (see
	// connectFloor): what the kernel alone charges for them on loopback.
	ConnectFloor *FloorFigure `json:"loopback_connect_floor,omitempty"`
}

// FloorFigure is the CPU of bare TCP checks on loopback, in percent of a
// core.
type FloorFigure struct {
	ChecksPerSecond int     `json:"checks_per_second"`
	CorePercent     float64 `json:"core_percent"`
	UserPercent     float64 `json:"user_percent"`
	SystemPercent   float64 `json:"system_percent"`
}

// AtOnceFigure is the burst of joins.
type AtOnceFigure struct {
	Clients int           `json:"clients"`
	AllMs   float64       `json:"all_in_group_at_every_peer_ms"`
	Joins   stats.Summary `json:"joins"`
	// Unanswered counts join calls a peer closed without an answer (its
	// connection caps) or answered 503, tried again.
	Unanswered int `json:"unanswered_calls"`
}

// WatchFigure is the watchers' delivery latency.
type WatchFigure struct {
	Watchers    int           `json:"watchers"`
	Changes     int           `json:"changes"`
	FromAnswer  stats.Summary `json:"from_join_answer"`
	FromRequest stats.Summary `json:"from_join_call"`
	// Missed counts deliveries that never came (a watcher that did not see
	// a change within 2 s of the last one).
	Missed int `json:"missed"`
	// Answered counts the watchers whose blocking queries a peer accepted
	// at least once (the others were refused every time: the API's
	// connection caps).
	Answered int `json:"answered"`
}

// CrashFigure is the removal of crashed clients.
type CrashFigure struct {
	Crashes int           `json:"crashes"`
	BoundMs float64       `json:"bound_ms"`
	Removal stats.Summary `json:"removal_at_every_peer"`
}

// CPUPoint is an owner's CPU share with some clients in some groups.
type CPUPoint struct {
	Clients int `json:"clients"`
	Groups  int `json:"groups"`
	// CorePercent is the peer process's CPU time over the window, as a
	// percentage of one core: UserPercent in user space, SystemPercent in
	// the kernel.
	CorePercent   float64 `json:"core_percent"`
	UserPercent   float64 `json:"user_percent"`
	SystemPercent float64 `json:"system_percent"`
	// JoinAllMs is how long the clients took to join (200 at a time).
	JoinAllMs float64 `json:"join_all_ms"`
}

// Run measures every figure: the latencies on an opts.Peers cluster, then
// the CPU on a one-peer cluster.
func Run(ctx context.Context, opts Options) (*Report, error) {
	fill(&opts)
	progress := func(format string, a ...any) {
		if opts.Progress != nil {
			opts.Progress(fmt.Sprintf(format, a...))
		}
	}
	rep := &Report{Date: time.Now().UTC().Format("2006-01-02"), Peers: opts.Peers, ClientInterval: "5s", ClientMisses: 3}
	checks, err := newCheckPool(16)
	if err != nil {
		return nil, err
	}
	defer checks.Close()

	if !opts.CPUOnly {
		if err := latencies(ctx, opts, rep, checks, progress); err != nil {
			return nil, err
		}
	}

	one, err := groupload.StartCluster(ctx, groupload.ClusterOptions{Peers: 1, Roster: opts.Roster, PeerArgs: opts.PeerArgs})
	if err != nil {
		return nil, fmt.Errorf("starting one peer: %w", err)
	}
	defer one.Stop()
	b := newBench(one, checks)
	pts, err := b.ownerCPU(ctx, opts.CPUClients, opts.CPUGroups, opts.CPUWindow, func(p CPUPoint) {
		progress("one owner, %d clients in %d groups: %.1f %% of a core (user %.1f, system %.1f; joined in %.0f ms)", p.Clients, p.Groups, p.CorePercent, p.UserPercent, p.SystemPercent, p.JoinAllMs)
	})
	rep.OwnerCPU = pts
	if err != nil {
		return rep, fmt.Errorf("owner CPU: %w", err)
	}
	if len(opts.CPUClients) > 0 {
		one.Stop()                              // nothing else on the cores of the floor
		rate := slices.Max(opts.CPUClients) / 5 // the peers' interval: 5 s
		f, err := connectFloor(ctx, checks.addr(), rate, min(opts.CPUWindow, 10*time.Second))
		if err != nil {
			return rep, fmt.Errorf("loopback connect floor: %w", err)
		}
		rep.ConnectFloor = &FloorFigure{ChecksPerSecond: rate, CorePercent: f.total, UserPercent: f.user, SystemPercent: f.system}
		progress("%d bare TCP checks a second on loopback, one thread: %.1f %% of a core (user %.1f, system %.1f)", rate, f.total, f.user, f.system)
	}
	return rep, nil
}

// latencies measures the figures of an opts.Peers cluster into rep.
func latencies(ctx context.Context, opts Options, rep *Report, checks *checkPool, progress func(string, ...any)) error {
	cl, err := groupload.StartCluster(ctx, groupload.ClusterOptions{Peers: opts.Peers, Roster: opts.Roster, PeerArgs: opts.PeerArgs})
	if err != nil {
		return fmt.Errorf("starting %d peers: %w", opts.Peers, err)
	}
	defer cl.Stop()
	b := newBench(cl, checks)
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"join through a follower", func(ctx context.Context) (err error) {
			rep.JoinFollower, err = b.joinFollower(ctx, opts.Joins)
			progress("join through a follower: p50 %.1f ms, p99 %.1f ms (%d joins)", rep.JoinFollower.MedianMs, rep.JoinFollower.P99Ms, opts.Joins)
			return err
		}},
		{"clients at once", func(ctx context.Context) (err error) {
			if rep.AtOnce, err = b.atOnce(ctx, opts.AtOnce); err == nil {
				progress("%d clients at once: in the group at every peer after %.0f ms (%d calls refused and tried again)", opts.AtOnce, rep.AtOnce.AllMs, rep.AtOnce.Unanswered)
			}
			return err
		}},
		{"watchers", func(ctx context.Context) (err error) {
			if rep.Watch, err = b.watch(ctx, opts.Watchers, opts.Changes); err == nil {
				progress("%d watchers (%d accepted): delivery p50 %.1f ms, p99 %.1f ms after the join's answer; %d missed", opts.Watchers, rep.Watch.Answered, rep.Watch.FromAnswer.MedianMs, rep.Watch.FromAnswer.P99Ms, rep.Watch.Missed)
			}
			return err
		}},
		{"crashed clients", func(ctx context.Context) (err error) {
			rep.CrashRemoval, err = b.crashes(ctx, opts.Crashes, 5*time.Second, 3)
			progress("crashed client removed at every peer: median %.0f ms, max %.0f ms (bound %.0f ms)", rep.CrashRemoval.Removal.MedianMs, rep.CrashRemoval.Removal.MaxMs, rep.CrashRemoval.BoundMs)
			return err
		}},
	}
	for _, st := range steps {
		if err := st.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	return nil
}

func fill(o *Options) {
	d := Defaults
	for _, f := range []struct{ v, def *int }{{&o.Peers, &d.Peers}, {&o.Joins, &d.Joins}, {&o.AtOnce, &d.AtOnce}, {&o.Watchers, &d.Watchers}, {&o.Changes, &d.Changes}, {&o.Crashes, &d.Crashes}} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	if o.CPUClients == nil {
		o.CPUClients = d.CPUClients
	}
	if o.CPUGroups == nil {
		o.CPUGroups = d.CPUGroups
	}
	if o.CPUWindow == 0 {
		o.CPUWindow = d.CPUWindow
	}
}

// bench is one cluster being measured.
type bench struct {
	cl     *groupload.Cluster
	checks *checkPool
	// api is the bench's own host; hosts are the simulated clients'.
	api   *api.GroupsClient
	hosts *hosts
	seq   int
}

// newBench measures cluster cl.
func newBench(cl *groupload.Cluster, checks *checkPool) *bench {
	return &bench{cl: cl, checks: checks, api: newClient(nil), hosts: newHosts(250)}
}

// id returns a fresh client id.
func (b *bench) id(prefix string) string {
	b.seq++
	return fmt.Sprintf("%s%d", prefix, b.seq)
}
