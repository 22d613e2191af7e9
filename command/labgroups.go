//go:build !nolab

package command

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	ucli "github.com/urfave/cli/v2"

	"roster/lab/groupload"
)

// labGroupsCommand is `roster lab groups`: a client groups workload on
// local peers, checked for linearizability with Porcupine.
func labGroupsCommand() *ucli.Command {
	d := groupload.Defaults
	return &ucli.Command{
		Name:            "groups",
		HideHelpCommand: true,
		OnUsageError:    labUsageError("lab groups"),
		Usage:           "run a client groups workload on local peers, with kills, and check its history for linearizability",
		UsageText: "roster lab groups [--clients 200] [--groups 8] [--duration 60s] [--out DIR] [options]\n\n" +
			"   Starts --peers peers as local processes and --clients clients in this process, each joining\n" +
			"   group g(i mod --groups) and then, through random peers, reading it (?consistent), joining\n" +
			"   again, leaving and joining. Clients are killed (their check address closes; half come back at\n" +
			"   once, half after their removal) and peers are killed and restarted. Every call is recorded with\n" +
			"   its start, end and answer; Porcupine checks the history, per group, against a set of clients\n" +
			"   with incarnations, each group within --check-timeout; a group not found linearizable is\n" +
			"   checked again one client at a time (weaker, fast: it can only confirm a violation).\n" +
			"   --out saves history.json, linearizability.html (Porcupine's picture), peers.log and\n" +
			"   report.json. Exit status: 0 linearizable, 1 not (or a group's check timed out), 2 bad input.",
		Flags: []ucli.Flag{
			&ucli.IntFlag{Name: "clients", Value: d.Clients, Usage: "in-process clients"},
			&ucli.IntFlag{Name: "groups", Value: d.Groups, Usage: "groups the clients are spread over"},
			&ucli.IntFlag{Name: "peers", Value: d.Peers, Usage: "local peer processes"},
			&ucli.DurationFlag{Name: "duration", Value: d.Duration, Usage: "how long the workload runs once the peers are up"},
			&ucli.Uint64Flag{Name: "seed", Usage: "random seed (default: from the clock; printed)"},
			&ucli.DurationFlag{Name: "client-interval", Value: d.ClientInterval, Usage: "the peers' --client-interval"},
			&ucli.IntFlag{Name: "client-misses", Value: d.ClientMisses, Usage: "the peers' --client-misses"},
			&ucli.DurationFlag{Name: "kill-clients-every", Value: d.KillClientsEvery, Usage: "mean time between client kills (0: none)"},
			&ucli.DurationFlag{Name: "kill-peers-every", Value: d.KillPeersEvery, Usage: "mean time between peer kills (0: none)"},
			&ucli.DurationFlag{Name: "peer-down", Value: d.PeerDown, Usage: "how long a killed peer stays down"},
			&ucli.DurationFlag{Name: "op-pause", Value: d.OpPause, Usage: "mean pause of a client between two calls"},
			&ucli.DurationFlag{Name: "check-timeout", Value: d.CheckTimeout, Usage: "bound on Porcupine's search per group (0: none)"},
			&ucli.StringFlag{Name: "out", Usage: "save the run's files in `DIR`", TakesFile: true},
			&ucli.StringFlag{Name: "roster", Usage: "the roster binary to start (default: this executable)", TakesFile: true},
			&ucli.StringSliceFlag{Name: "peer-flag", Usage: "an extra `FLAG` for every peer, such as --peer-flag=--faults (repeatable)"},
			&ucli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usageErr("lab groups: unexpected argument %q", c.Args().First())
			}
			cfg := groupload.Config{
				Clients: c.Int("clients"), Groups: c.Int("groups"), Peers: c.Int("peers"),
				Duration: c.Duration("duration"), Seed: c.Uint64("seed"),
				ClientInterval: c.Duration("client-interval"), ClientMisses: c.Int("client-misses"),
				KillClientsEvery: c.Duration("kill-clients-every"), KillPeersEvery: c.Duration("kill-peers-every"),
				PeerDown: c.Duration("peer-down"), OpPause: c.Duration("op-pause"), CheckTimeout: c.Duration("check-timeout"),
				Out: c.String("out"), Roster: c.String("roster"), PeerArgs: c.StringSlice("peer-flag"),
			}
			for name, v := range map[string]int{"clients": cfg.Clients, "groups": cfg.Groups, "peers": cfg.Peers, "client-misses": cfg.ClientMisses} {
				if v < 1 {
					return usageErr("lab groups --%s %d: want at least 1", name, v)
				}
			}
			for name, v := range map[string]time.Duration{"duration": cfg.Duration, "client-interval": cfg.ClientInterval, "peer-down": cfg.PeerDown, "op-pause": cfg.OpPause} {
				if v <= 0 {
					return usageErr("lab groups --%s %v: must be positive", name, v)
				}
			}
			if cfg.KillClientsEvery < 0 || cfg.KillPeersEvery < 0 || cfg.CheckTimeout < 0 {
				return usageErr("lab groups: --kill-clients-every, --kill-peers-every and --check-timeout must not be negative")
			}
			if cfg.Seed == 0 {
				cfg.Seed = uint64(time.Now().UnixNano())
			}
			cfg.Progress = func(s string) { fmt.Fprintln(c.App.ErrWriter, s) }
			ctx, stop := interruptible()
			defer stop()
			rep, err := groupload.Run(ctx, cfg)
			if err != nil {
				return ucli.Exit("roster lab groups: "+err.Error(), ExitFailure)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return ucli.Exit("roster lab groups: "+err.Error(), ExitFailure)
				}
			} else {
				writeGroupsReport(c.App.Writer, rep)
			}
			return verdict(rep.OK())
		},
	}
}

func writeGroupsReport(w io.Writer, rep *groupload.Report) {
	fmt.Fprintf(w, "%d clients in %d groups on %d peers for %s (seed %d): %d client kills, %d peer kills\n",
		rep.Clients, rep.Groups, rep.Peers, rep.Duration, rep.Seed, rep.ClientKills, rep.PeerKills)
	kinds := make([]string, 0, len(rep.Ops))
	for k := range rep.Ops {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "%-6s %7s %7s %8s %9s %9s\n", "call", "ok", "failed", "unknown", "p50 ms", "p99 ms")
	for _, k := range kinds {
		s := rep.Ops[k]
		var p50, p99 float64
		if s.Latency != nil {
			p50, p99 = s.Latency.MedianMs, s.Latency.P99Ms
		}
		fmt.Fprintf(w, "%-6s %7d %7d %8d %9.1f %9.1f\n", k, s.OK, s.Failed, s.Unknown, p50, p99)
	}
	if l := rep.Linearizability; l != nil {
		fmt.Fprintf(w, "linearizability: %s (%d operations, %d with unknown outcome, checked in %.1f s)\n", l.Result, l.Ops, l.Unknown, l.Ms/1000)
		for _, g := range l.Groups {
			switch {
			case g.PerClient != "":
				fmt.Fprintf(w, "  group %s: %s (%d operations; one client at a time: %s)\n", g.Group, g.Result, g.Ops, g.PerClient)
			case g.Result != "Ok":
				fmt.Fprintf(w, "  group %s: %s (%d operations)\n", g.Group, g.Result, g.Ops)
			}
		}
		if l.Visualization == "partial" {
			fmt.Fprintf(w, "  the visualization is partial: its search ran out of time\n")
		}
	}
	fmt.Fprintf(w, "views: %s\n", rep.Views)
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, f := range rep.Files {
		fmt.Fprintf(w, "saved %s\n", f)
	}
}
