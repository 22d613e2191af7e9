//go:build !nolab

package command

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"roster/lab/measure"
)

func benchCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "bench",
		Usage: "measure join and crash-to-view latency with real peers in this process, on loopback addresses",
		Description: "Each run starts --peers peers one by one (join latency: from a peer's start to the view\n" +
			"containing it at every peer), crashes a random follower, then the leader (crash-to-view: from\n" +
			"the crash to a view without it at every survivor). Then, for each --at-once size, starts that\n" +
			"many peers at once and times one view holding them all. Linux only (uses 127.X.Y.Z addresses).",
		Flags: []ucli.Flag{
			&ucli.IntFlag{Name: "peers", Value: 5, Usage: "peers per run (at least 4)"},
			&ucli.IntFlag{Name: "runs", Value: 10, Usage: "number of runs"},
			&ucli.StringFlag{Name: "at-once", Value: "", Usage: "comma-separated group sizes to start at once, e.g. 25,100"},
			&ucli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		},
		Subcommands: []*ucli.Command{benchGroupsCommand()},
		Action: func(c *ucli.Context) error {
			opts := measure.Options{Peers: c.Int("peers"), Runs: c.Int("runs")}
			if s := c.String("at-once"); s != "" {
				for _, f := range strings.Split(s, ",") {
					n, err := strconv.Atoi(strings.TrimSpace(f))
					if err != nil || n < 1 {
						return usageErr("lab bench --at-once %q: want sizes like 25,100", s)
					}
					opts.AtOnce = append(opts.AtOnce, n)
				}
			}
			if opts.Runs < 1 {
				return usageErr("lab bench --runs %d: want at least 1", opts.Runs)
			}
			if !c.Bool("json") {
				opts.Progress = func(s string) { fmt.Fprintln(c.App.ErrWriter, s) }
			}
			rep, err := measure.Run(opts)
			if err != nil {
				return ucli.Exit("lab bench: "+err.Error(), ExitFailure)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			w := c.App.Writer
			fmt.Fprintf(w, "%d peers, %d runs (milliseconds)\n", rep.Peers, rep.Runs)
			fmt.Fprintf(w, "%-22s %6s %8s %8s %8s %8s\n", "", "n", "min", "median", "p90", "max")
			for _, r := range []struct {
				name string
				s    measure.Stats
			}{{"bootstrap", rep.Bootstrap}, {"join", rep.Join}, {"crash → view", rep.CrashToView}, {"leader crash → view", rep.LeaderCrashToView}} {
				fmt.Fprintf(w, "%-22s %6d %8.1f %8.1f %8.1f %8.1f\n", r.name, r.s.N, r.s.MinMs, r.s.MedianMs, r.s.P90Ms, r.s.MaxMs)
			}
			for _, n := range opts.AtOnce {
				fmt.Fprintf(w, "%d peers at once → one view: %.0f ms\n", n, rep.AtOnce[n])
			}
			return nil
		},
	}
}
