package soak

import (
	"roster/lab/runner"

	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"roster/lab/checker"
	"roster/lab/nemesis"
)

// LossConfig is what `roster lab soak loss` was asked to do. A plain value.
type LossConfig struct {
	// Loss is the share of traffic every peer drops on every link, both ways.
	Loss float64
	// Duration is the length of the run (10 minutes when 0).
	Duration time.Duration
	// CrashEvery is the time between two kills (0: no kills). Every third
	// kill is of the leader.
	CrashEvery time.Duration
	// Down is how long a killed peer stays down before it is started again.
	Down time.Duration
	// Seed decides the victims and the peers' loss draws.
	Seed uint64
	// JSON prints the report as JSON.
	JSON bool
	// LogPath, when set, receives the judged log.
	LogPath string
	// Roster is the roster binary ("" for this executable).
	Roster string
}

// Defaults of LossConfig.
const (
	DefaultLossDuration   = 10 * time.Minute
	DefaultLossCrashEvery = time.Minute
	DefaultLossDown       = 20 * time.Second
	lossFirstKill         = 30 * time.Second
)

// LossReport is what a loss run measured. Plain data.
type LossReport struct {
	Loss     float64 `json:"loss"`
	Duration string  `json:"duration"`
	Seed     uint64  `json:"seed"`
	// FalseRemovals counts live peers removed from the view.
	FalseRemovals int `json:"false_removals"`
	// Removals lists every removal with the checker's reason.
	Removals []checker.Removal `json:"removals"`
	// FalseSuspicions counts "peer N unreachable" lines about a peer that
	// was not down then (memberlist or the direct check doubted a live
	// peer; the view did not necessarily change).
	FalseSuspicions int `json:"false_suspicions"`
	// Kills lists the kills done.
	Kills []Kill `json:"kills"`
	// CrashToView is the crash-to-removal latency (kill to the last
	// survivor printing the view without the peer) of every kill, and of
	// follower and leader kills apart.
	CrashToView         *checker.Stats `json:"crash_to_view,omitempty"`
	FollowerCrashToView *checker.Stats `json:"follower_crash_to_view,omitempty"`
	LeaderCrashToView   *checker.Stats `json:"leader_crash_to_view,omitempty"`
	// Properties are the checker's verdicts.
	Properties []checker.Property `json:"properties"`
	// Failures lists unexpected peer exits.
	Failures []string `json:"failures,omitempty"`
	// Held is true when the checker found every property held.
	Held bool `json:"held"`
}

// LossPlan returns the schedule of a loss run: every peer loses cfg.Loss of
// its traffic from the start; from 30 s, every CrashEvery a peer is killed
// (a random one, every third time the leader) and started again Down later,
// while there is time for it to rejoin before the end.
func LossPlan(cfg LossConfig) Plan {
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x1055))
	p := Plan{Seed: cfg.Seed, Duration: cfg.Duration, PeerArgs: []string{"--loss", strconv.FormatFloat(cfg.Loss, 'g', -1, 64)}}
	if cfg.CrashEvery <= 0 {
		return p
	}
	n := 0
	for t := lossFirstKill; t+cfg.Down+soakSettle <= cfg.Duration; t += cfg.CrashEvery {
		who := soakPeers[rng.IntN(len(soakPeers))]
		if n%3 == 2 {
			who = "leader"
		}
		n++
		i := len(p.Events)
		p.Events = append(p.Events,
			Event{Step: nemesis.Step{At: t, Action: nemesis.Action{Kind: nemesis.Kill, Peers: []string{who}}}, StartOf: -1},
			Event{Step: nemesis.Step{At: t + cfg.Down, Action: nemesis.Action{Kind: nemesis.Start, Peers: []string{who}}}, StartOf: i})
	}
	return p
}

// LossRun is `roster lab soak loss`: one long run of five peers under
// steady loss, with kills, until ctx is done; it reports false removals and
// crash-to-view latency, and writes a line saying what it runs to progress.
// The error is an *runner.InputError for bad input, another error when the
// run could not be carried out. The report's Passed says whether no live
// peer was removed and every property held.
func LossRun(ctx context.Context, cfg LossConfig, progress io.Writer) (*LossReport, error) {
	if cfg.Duration == 0 {
		cfg.Duration = DefaultLossDuration
	}
	bad := func(format string, a ...any) error { return &runner.InputError{Msg: fmt.Sprintf(format, a...)} }
	switch {
	case cfg.Loss < 0 || cfg.Loss >= 1:
		return nil, bad("--loss %v: want a share in [0, 1), like 0.1 or 10%%", cfg.Loss)
	case cfg.Duration < MinDuration:
		return nil, bad("--duration %v: want at least %v", cfg.Duration, MinDuration)
	case cfg.Down <= 0:
		return nil, bad("--down %v: must be positive", cfg.Down)
	case cfg.CrashEvery < 0 || (cfg.CrashEvery > 0 && cfg.CrashEvery <= cfg.Down):
		return nil, bad("--crash-every %v: want 0 (no kills) or more than --down %v", cfg.CrashEvery, cfg.Down)
	}
	if _, err := runner.RosterBinary(cfg.Roster); err != nil {
		return nil, err
	}
	plan := LossPlan(cfg)
	fmt.Fprintf(progress, "%.0f%% loss on every link of 5 peers for %v, seed %d: %s\n", 100*cfg.Loss, cfg.Duration, cfg.Seed, plan)
	r := RunPlan(ctx, plan, runner.Options{Roster: cfg.Roster})
	if r.Err != nil {
		return nil, r.Err
	}
	if cfg.LogPath != "" {
		if err := os.WriteFile(cfg.LogPath, r.Log, 0o644); err != nil {
			fmt.Fprintf(progress, "--log: %v\n", err)
		}
	}
	return lossReport(cfg, r), nil
}

// lossReport turns a judged loss run into its figures.
func lossReport(cfg LossConfig, r *Run) *LossReport {
	rep := r.Verdict.Report
	out := &LossReport{Loss: cfg.Loss, Duration: cfg.Duration.String(), Seed: cfg.Seed, Kills: r.Kills,
		Removals: rep.Removals, Properties: rep.Properties, Failures: r.Failures, Held: r.Verdict.Status() == 0}
	for _, rm := range rep.Removals {
		if rm.Reason == "live" {
			out.FalseRemovals++
		}
	}
	var all, followers, leaders []time.Duration
	for _, l := range rep.Figures.CrashRemoval.Latencies {
		all = append(all, l.D)
		leader := false
		for _, k := range r.Kills {
			if k.ID == l.Peer && l.From.Sub(k.At).Abs() < 2*time.Second {
				leader = k.Leader
			}
		}
		if leader {
			leaders = append(leaders, l.D)
		} else {
			followers = append(followers, l.D)
		}
	}
	if len(all) > 0 {
		out.CrashToView = summary(all)
	}
	if len(followers) > 0 {
		out.FollowerCrashToView = summary(followers)
	}
	if len(leaders) > 0 {
		out.LeaderCrashToView = summary(leaders)
	}
	// A suspicion is false when its target was not down: not killed in the
	// last Down (plus the time to notice) before the line.
	for _, e := range r.Verdict.Run.Events {
		if e.Kind != checker.KindUnreachable || e.Time.IsZero() {
			continue
		}
		down := false
		for _, k := range r.Kills {
			if k.ID == e.Target && !e.Time.Before(k.At) && e.Time.Sub(k.At) < cfg.Down+5*time.Second {
				down = true
			}
		}
		if !down {
			out.FalseSuspicions++
		}
	}
	return out
}

// WriteText prints the report.
func (r *LossReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "loss %.0f%% on every link, 5 peers, %s, seed %d\n", 100*r.Loss, r.Duration, r.Seed)
	fmt.Fprintf(w, "false removals (live peers removed): %d\n", r.FalseRemovals)
	fmt.Fprintf(w, "false suspicions (\"peer N unreachable\" about a live peer): %d\n", r.FalseSuspicions)
	leaders := 0
	for _, k := range r.Kills {
		if k.Leader {
			leaders++
		}
	}
	fmt.Fprintf(w, "kills: %d (%d of the leader)\n", len(r.Kills), leaders)
	for _, s := range []struct {
		name string
		st   *checker.Stats
	}{{"crash to view, all kills", r.CrashToView}, {"  follower kills", r.FollowerCrashToView}, {"  leader kills", r.LeaderCrashToView}} {
		if s.st != nil {
			fmt.Fprintf(w, "%-26s n=%-3d min %6.0f ms  median %6.0f ms  max %6.0f ms\n", s.name+":", s.st.N, s.st.MinMs, s.st.MedianMs, s.st.MaxMs)
		}
	}
	for _, p := range r.Properties {
		fmt.Fprintf(w, "%-13s %-15s %s\n", p.Name, p.Verdict, p.Detail)
	}
	for _, f := range r.Failures {
		fmt.Fprintln(w, f)
	}
	return nil
}

// Passed reports whether no live peer was removed, no peer failed and every
// property held.
func (r *LossReport) Passed() bool { return r.FalseRemovals == 0 && len(r.Failures) == 0 && r.Held }
