//go:build !nolab

package command

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"roster/lab/measure"
	"roster/lab/runner"
)

func benchCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "bench",
		Usage: "measure join and crash-to-view latency, idle CPU and memory with real peer processes on loopback addresses",
		Description: "Each run starts --peers peers as separate processes, --gap apart (join latency: from a peer's\n" +
			"process start to the first view holding it at every peer), then kills a random follower and\n" +
			"then the leader with SIGKILL (crash → view: from the kill to a view without it at every\n" +
			"survivor). In the first run, once every peer joined, the CPU time and RSS of each process are\n" +
			"read from /proc over --idle. Then, for each --idle-sizes size, that many peers start --idle-gap\n" +
			"apart and are measured idle the same way. --in-process runs the peers inside the bench instead\n" +
			"(one process; no CPU or memory figures). Linux only (uses 127.X.Y.Z addresses and /proc).",
		Flags: []ucli.Flag{
			&ucli.IntFlag{Name: "peers", Value: 5, Usage: "peers per run (at least 4)"},
			&ucli.IntFlag{Name: "runs", Value: 10, Usage: "number of runs"},
			&ucli.DurationFlag{Name: "gap", Value: measure.DefaultGap, Usage: "time between two peers' starts in a run"},
			&ucli.DurationFlag{Name: "idle", Value: measure.DefaultIdle, Usage: "window over which idle CPU is measured"},
			&ucli.StringFlag{Name: "idle-sizes", Usage: "comma-separated larger group sizes to measure idle, e.g. 25,100"},
			&ucli.DurationFlag{Name: "idle-gap", Value: measure.DefaultIdleGap, Usage: "time between two starts in an --idle-sizes group"},
			&ucli.StringFlag{Name: "roster", Usage: "the roster binary the peers run (default: this one)", TakesFile: true},
			&ucli.IntFlag{Name: "busy", Usage: "run this many busy loops during the bench, to starve the peers of CPU (as stress --cpu N)"},
			&ucli.BoolFlag{Name: "in-process", Usage: "run the peers inside the bench (latencies only)"},
			&ucli.StringFlag{Name: "at-once", Usage: "with --in-process: comma-separated group sizes to start at once, e.g. 25,100"},
			&ucli.DurationFlag{Name: "at-once-timeout", Value: measure.DefaultAtOnceTimeout, Usage: "with --at-once: how long a group may take to form one view (a group that does not is reported, and the next size measured)"},
			&ucli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		},
		Subcommands: []*ucli.Command{benchGroupsCommand()},
		Action: func(c *ucli.Context) error {
			if c.Int("runs") < 1 {
				return usageErr("lab bench --runs %d: want at least 1", c.Int("runs"))
			}
			var progress func(string)
			if !c.Bool("json") {
				progress = func(s string) { fmt.Fprintln(c.App.ErrWriter, s) }
			}
			if c.Bool("in-process") {
				return benchInProcess(c, progress)
			}
			if c.IsSet("at-once") || c.IsSet("at-once-timeout") {
				return usageErr("lab bench --at-once: only with --in-process (use --idle-sizes)")
			}
			sizes, err := sizesFlag(c, "idle-sizes")
			if err != nil {
				return err
			}
			bin, err := runner.RosterBinary(c.String("roster"))
			if err != nil {
				return usageErr("lab bench: %v", err)
			}
			if c.Int("busy") < 0 || c.Int("busy") > 64 {
				return usageErr("lab bench --busy %d: want 0 to 64", c.Int("busy"))
			}
			if c.Duration("gap") <= 0 || c.Duration("idle") <= 0 || c.Duration("idle-gap") <= 0 {
				return usageErr("lab bench --gap %v --idle %v --idle-gap %v: want positive durations", c.Duration("gap"), c.Duration("idle"), c.Duration("idle-gap"))
			}
			rep, err := measure.RunProcesses(measure.ProcOptions{
				Binary: bin, Peers: c.Int("peers"), Runs: c.Int("runs"), Gap: c.Duration("gap"),
				Idle: c.Duration("idle"), IdleSizes: sizes, IdleGap: c.Duration("idle-gap"), Busy: c.Int("busy"), Progress: progress,
			})
			if err != nil {
				return ucli.Exit("lab bench: "+err.Error(), ExitFailure)
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, rep)
			}
			writeProcReport(c.App.Writer, rep)
			return nil
		},
	}
}

// sizesFlag reads a comma-separated list of group sizes.
func sizesFlag(c *ucli.Context, flag string) ([]int, error) {
	s := c.String(flag)
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 250 {
			return nil, usageErr("lab bench --%s %q: want sizes from 1 to 250 like 25,100", flag, s)
		}
		out = append(out, n)
	}
	return out, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeProcReport(w io.Writer, rep *measure.ProcReport) {
	fmt.Fprintf(w, "%d peers as processes, started %.0f ms apart, %d runs (milliseconds)", rep.Peers, rep.GapMs, rep.Runs)
	if rep.Busy > 0 {
		fmt.Fprintf(w, ", %d busy loops running", rep.Busy)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-34s %5s %8s %8s %8s %8s\n", "", "n", "min", "median", "p90", "max")
	for _, r := range []struct {
		name string
		s    measure.Stats
	}{
		{"bootstrap (start → view 1)", rep.Bootstrap},
		{"join (start → in view everywhere)", rep.Join},
		{"  of which start → \"joining\" line", rep.Startup},
		{"follower crash → view", rep.CrashToView},
		{"leader crash → view", rep.LeaderCrashToView},
	} {
		fmt.Fprintf(w, "%-34s %5d %8.1f %8.1f %8.1f %8.1f\n", r.name, r.s.N, r.s.MinMs, r.s.MedianMs, r.s.P90Ms, r.s.MaxMs)
	}
	fmt.Fprintf(w, "\nidle (CPU in %% of one core over the window; RSS in MB)\n")
	fmt.Fprintf(w, "%6s %8s %12s %10s %12s %12s %10s %10s\n", "peers", "window", "one view ms", "leader", "followers", "max", "all", "RSS mean")
	for _, r := range append([]measure.IdleReport{rep.Idle}, rep.IdleSizes...) {
		oneView := "-"
		if r.OneViewMs > 0 {
			oneView = fmt.Sprintf("%.0f", r.OneViewMs)
		} else if r.Error != "" {
			oneView = "never"
		}
		rss := r.Leader.RSSMB
		if r.Peers > 1 {
			rss = (r.Leader.RSSMB + r.FollowersMean.RSSMB*float64(r.Peers-1)) / float64(r.Peers)
		}
		fmt.Fprintf(w, "%6d %7.0fs %12s %9.2f%% %11.2f%% %11.2f%% %9.1f%% %10.1f\n", r.Peers, r.IdleSeconds, oneView,
			r.Leader.CPUPercent, r.FollowersMean.CPUPercent, r.FollowersMax.CPUPercent, r.TotalCPU, rss)
	}
	fmt.Fprintf(w, "leader RSS %.1f MB, followers %.1f MB mean, %.1f MB max (%d peers)\n",
		rep.Idle.Leader.RSSMB, rep.Idle.FollowersMean.RSSMB, rep.Idle.FollowersMax.RSSMB, rep.Idle.Peers)
	fmt.Fprintf(w, "  of which the process's own (anon): leader %.1f MB, followers %.1f MB mean; the executable's mapped pages (file, shared): %.1f / %.1f MB\n",
		rep.Idle.Leader.AnonMB, rep.Idle.FollowersMean.AnonMB, rep.Idle.Leader.FileMB, rep.Idle.FollowersMean.FileMB)
	for _, r := range append([]measure.IdleReport{rep.Idle}, rep.IdleSizes...) {
		if r.LeaderMoved != "" {
			fmt.Fprintf(w, "%d peers: %s\n", r.Peers, r.LeaderMoved)
		}
	}
	for _, r := range rep.IdleSizes {
		if r.Error != "" {
			fmt.Fprintf(w, "%d peers: %s\n", r.Peers, r.Error)
		}
	}
	fmt.Fprintf(w, "\nlive peers removed: %d\n", len(rep.FalseRemovals))
	for _, f := range rep.FalseRemovals {
		fmt.Fprintf(w, "  %s\n", f)
	}
	fmt.Fprintf(w, "lines other than view records: %d\n", len(rep.OtherLines))
	for i, l := range rep.OtherLines {
		if i == 10 {
			fmt.Fprintf(w, "  ... %d more (--json lists them all)\n", len(rep.OtherLines)-i)
			break
		}
		fmt.Fprintf(w, "  %s\n", l)
	}
}

// benchInProcess is the bench with the peers inside this process.
func benchInProcess(c *ucli.Context, progress func(string)) error {
	opts := measure.Options{Peers: c.Int("peers"), Runs: c.Int("runs"), AtOnceTimeout: c.Duration("at-once-timeout"), Progress: progress}
	if opts.AtOnceTimeout <= 0 {
		return usageErr("lab bench --at-once-timeout %v: want a positive duration", opts.AtOnceTimeout)
	}
	var err error
	if opts.AtOnce, err = sizesFlag(c, "at-once"); err != nil {
		return err
	}
	if c.IsSet("idle-sizes") || c.IsSet("idle") || c.IsSet("idle-gap") || c.IsSet("gap") || c.IsSet("roster") || c.IsSet("busy") {
		return usageErr("lab bench --in-process: --gap, --idle, --idle-sizes, --idle-gap, --roster and --busy apply to processes only")
	}
	rep, err := measure.Run(opts)
	if err != nil {
		return ucli.Exit("lab bench: "+err.Error(), ExitFailure)
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, rep)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "%d peers in process, %d runs (milliseconds)\n", rep.Peers, rep.Runs)
	fmt.Fprintf(w, "%-22s %6s %8s %8s %8s %8s\n", "", "n", "min", "median", "p90", "max")
	for _, r := range []struct {
		name string
		s    measure.Stats
	}{{"bootstrap", rep.Bootstrap}, {"join", rep.Join}, {"crash → view", rep.CrashToView}, {"leader crash → view", rep.LeaderCrashToView}} {
		fmt.Fprintf(w, "%-22s %6d %8.1f %8.1f %8.1f %8.1f\n", r.name, r.s.N, r.s.MinMs, r.s.MedianMs, r.s.P90Ms, r.s.MaxMs)
	}
	for _, n := range opts.AtOnce {
		if why, failed := rep.AtOnceFailed[n]; failed {
			fmt.Fprintf(w, "%d peers at once → %s\n", n, why)
			continue
		}
		fmt.Fprintf(w, "%d peers at once → one view: %.0f ms\n", n, rep.AtOnce[n])
	}
	return nil
}
