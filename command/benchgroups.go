//go:build !nolab

package command

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"roster/lab/groupbench"
)

// benchGroupsCommand is `roster lab bench groups`.
func benchGroupsCommand() *ucli.Command {
	d := groupbench.Defaults
	return &ucli.Command{
		Name:            "groups",
		HideHelpCommand: true,
		OnUsageError:    labUsageError("lab bench groups"),
		Usage:           "measure client groups on local peer processes: joins, bursts, watchers, crashed clients, owner CPU",
		Description: "On --peers local peers (default settings: --client-interval 5s, --client-misses 3): --joins joins one\n" +
			"after another through a follower; --at-once clients joining at once until every peer serves them\n" +
			"all; --watchers blocking queries on one group while --changes joins commit (delivery latency);\n" +
			"--crashes clients crashed at once until every peer has removed them. Then, on one peer (which owns\n" +
			"every client), its CPU (its process's, /proc) while it checks --cpu-clients clients in one group,\n" +
			"and the largest number spread over --cpu-groups groups; then the same checks a second made bare\n" +
			"by one thread of the bench (the loopback floor: on loopback the kernel charges the connecting\n" +
			"process for both ends of a handshake). Linux only (127.X.Y.Z addresses, /proc).",
		Flags: []ucli.Flag{
			&ucli.IntFlag{Name: "peers", Value: d.Peers, Usage: "peers of the latency figures"},
			&ucli.IntFlag{Name: "joins", Value: d.Joins, Usage: "sequential joins through a follower"},
			&ucli.IntFlag{Name: "at-once", Value: d.AtOnce, Usage: "clients joining at once"},
			&ucli.IntFlag{Name: "watchers", Value: d.Watchers, Usage: "watchers (blocking queries) of one group"},
			&ucli.IntFlag{Name: "changes", Value: d.Changes, Usage: "changes the watchers see"},
			&ucli.IntFlag{Name: "crashes", Value: d.Crashes, Usage: "clients crashed at once"},
			&ucli.StringFlag{Name: "cpu-clients", Value: joinInts(d.CPUClients), Usage: "`LIST` of client counts one owner checks"},
			&ucli.StringFlag{Name: "cpu-groups", Value: joinInts(d.CPUGroups), Usage: "`LIST` of group counts the largest client count is spread over"},
			&ucli.DurationFlag{Name: "cpu-window", Value: d.CPUWindow, Usage: "how long each CPU figure is measured"},
			&ucli.BoolFlag{Name: "cpu-only", Usage: "only the owner's CPU (no five-peer latency figures)"},
			&ucli.StringFlag{Name: "roster", Usage: "the roster binary to start (default: this executable)", TakesFile: true},
			&ucli.StringSliceFlag{Name: "peer-flag", Usage: "an extra `FLAG` for every peer, such as --peer-flag=--faults (repeatable)"},
			&ucli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usageErr("lab bench groups: unexpected argument %q", c.Args().First())
			}
			opts := groupbench.Options{
				Peers: c.Int("peers"), Joins: c.Int("joins"), AtOnce: c.Int("at-once"),
				Watchers: c.Int("watchers"), Changes: c.Int("changes"), Crashes: c.Int("crashes"),
				CPUWindow: c.Duration("cpu-window"), CPUOnly: c.Bool("cpu-only"), Roster: c.String("roster"), PeerArgs: c.StringSlice("peer-flag"),
			}
			for name, v := range map[string]int{"peers": opts.Peers, "joins": opts.Joins, "at-once": opts.AtOnce, "watchers": opts.Watchers, "changes": opts.Changes, "crashes": opts.Crashes} {
				if v < 1 {
					return usageErr("lab bench groups --%s %d: want at least 1", name, v)
				}
			}
			if opts.CPUWindow <= 0 {
				return usageErr("lab bench groups --cpu-window %v: must be positive", opts.CPUWindow)
			}
			var err error
			if opts.CPUClients, err = parseInts(c.String("cpu-clients")); err != nil {
				return usageErr("lab bench groups --cpu-clients: %v", err)
			}
			if opts.CPUGroups, err = parseInts(c.String("cpu-groups")); err != nil {
				return usageErr("lab bench groups --cpu-groups: %v", err)
			}
			if !c.Bool("json") {
				opts.Progress = func(s string) { fmt.Fprintln(c.App.ErrWriter, s) }
			}
			ctx, stop := interruptible()
			defer stop()
			rep, err := groupbench.Run(ctx, opts)
			if err != nil {
				return ucli.Exit("roster lab bench groups: "+err.Error(), ExitFailure)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			writeGroupBench(c.App.Writer, rep)
			return nil
		},
	}
}

func writeGroupBench(w io.Writer, r *groupbench.Report) {
	if r.JoinFollower.N > 0 {
		writeGroupLatencies(w, r)
	}
	fmt.Fprintf(w, "one owner's CPU (%% of a core):\n")
	for _, p := range r.OwnerCPU {
		fmt.Fprintf(w, "  %6d clients in %3d groups: %5.1f %%  (user %.1f, system %.1f; joined in %.0f ms)\n", p.Clients, p.Groups, p.CorePercent, p.UserPercent, p.SystemPercent, p.JoinAllMs)
	}
	if f := r.ConnectFloor; f != nil {
		fmt.Fprintf(w, "  loopback floor, %d bare TCP checks a second from one thread: %.1f %% (user %.1f, system %.1f)\n", f.ChecksPerSecond, f.CorePercent, f.UserPercent, f.SystemPercent)
	}
}

func writeGroupLatencies(w io.Writer, r *groupbench.Report) {
	fmt.Fprintf(w, "client groups on %d local peers (%s; --client-interval %s, --client-misses %d), milliseconds\n", r.Peers, r.Date, r.ClientInterval, r.ClientMisses)
	fmt.Fprintf(w, "join through a follower:        p50 %7.1f  p99 %7.1f  (n %d)\n", r.JoinFollower.MedianMs, r.JoinFollower.P99Ms, r.JoinFollower.N)
	fmt.Fprintf(w, "%d clients at once:           all in the group at every peer after %.0f; joins p50 %.1f p99 %.1f; %d calls refused and tried again\n", r.AtOnce.Clients, r.AtOnce.AllMs, r.AtOnce.Joins.MedianMs, r.AtOnce.Joins.P99Ms, r.AtOnce.Unanswered)
	fmt.Fprintf(w, "%d watchers (%d accepted), %d changes: after the join's answer p50 %.1f p99 %.1f; after its call p50 %.1f p99 %.1f; missed %d\n",
		r.Watch.Watchers, r.Watch.Answered, r.Watch.Changes, r.Watch.FromAnswer.MedianMs, r.Watch.FromAnswer.P99Ms, r.Watch.FromRequest.MedianMs, r.Watch.FromRequest.P99Ms, r.Watch.Missed)
	fmt.Fprintf(w, "crashed client removed at every peer: median %.0f max %.0f (bound %.0f, n %d)\n", r.CrashRemoval.Removal.MedianMs, r.CrashRemoval.Removal.MaxMs, r.CrashRemoval.BoundMs, r.CrashRemoval.Removal.N)
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive numbers like 1000,10000", s)
		}
		out = append(out, n)
	}
	return out, nil
}
