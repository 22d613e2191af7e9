//go:build !nolab

package command

import (
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"roster/lab/fault"
	"roster/lab/soak"
)

// soakCommand is `roster lab soak`: random fault schedules, judged.
func soakCommand() *ucli.Command {
	return &ucli.Command{
		Name:            "soak",
		HideHelpCommand: true,
		OnUsageError:    labUsageError("lab soak"),
		Usage:           "run random fault schedules (kills, restarts, partitions, pauses, loss, delay) one after the other and judge each",
		UsageText: "roster lab soak [--runs N] [--seed S] [--duration 30s] [--json] [--logs DIR] [--verbose] [--roster PATH]\n\n" +
			"   Each run starts five peers (one..five, with --faults) as local processes, draws a schedule from its seed:\n" +
			"   after a warm-up, non-overlapping episodes (a kill and a restart, a kill for good, a partition of a random\n" +
			"   shape then a heal, a pause of a peer or of the leader), sometimes with loss or delay on random peers in\n" +
			"   the background; every fault ends 10 s before the run does. The checker judges each run (peers that a\n" +
			"   partition or a pause cut off may rightly be removed). Run i has seed S+i: --runs 1 --seed S+i replays it.\n" +
			"   Exit status: 0 every run passed, 1 some run did not, 2 bad input.",
		Flags: []ucli.Flag{
			&ucli.IntFlag{Name: "runs", Value: 10, Usage: "number of runs"},
			&ucli.Uint64Flag{Name: "seed", Usage: "seed of the first run (default: random, printed)"},
			&ucli.DurationFlag{Name: "duration", Value: soak.DefaultDuration, Usage: fmt.Sprintf("length of each run (at least %v)", soak.MinDuration)},
			&ucli.BoolFlag{Name: "json", Usage: "print the summary as JSON on stdout (progress goes to stderr)"},
			&ucli.StringFlag{Name: "logs", Usage: "write each run's judged log to `DIR`/soak-SEED.log (readable by roster check)", TakesFile: true},
			&ucli.BoolFlag{Name: "verbose", Usage: "print each run's steps and checker table"},
			&ucli.StringFlag{Name: "roster", Usage: "the roster binary to start (default: this executable)", TakesFile: true},
		},
		Subcommands: []*ucli.Command{soakLossCommand()},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usageErr("lab soak: unexpected argument %q (see roster lab soak --help)", c.Args().First())
			}
			seed := c.Uint64("seed")
			if !c.IsSet("seed") {
				seed = soak.RandomSeed()
			}
			ctx, stop := interruptible()
			defer stop()
			progress := c.App.Writer
			if c.Bool("json") {
				progress = c.App.ErrWriter
			}
			runs := c.Int("runs")
			sum, err := soak.Soak(ctx, soak.Config{
				Runs: runs, Seed: seed, Duration: c.Duration("duration"),
				LogDir: c.String("logs"), Verbose: c.Bool("verbose"), Roster: c.String("roster"),
			}, progress)
			if err != nil {
				return labError("lab soak", err)
			}
			if err := report(c.App.Writer, c.Bool("json"), sum, sum.WriteText); err != nil {
				return labError("lab soak", err)
			}
			if ctx.Err() != nil {
				fmt.Fprintf(c.App.ErrWriter, "roster lab soak: interrupted after %d of %d runs\n", sum.Runs, runs)
			}
			return verdict(sum.Passed())
		},
	}
}

// soakLossCommand is `roster lab soak loss`: one long run under steady
// loss, for false removals and crash-to-view latency.
func soakLossCommand() *ucli.Command {
	return &ucli.Command{
		Name:            "loss",
		HideHelpCommand: true,
		OnUsageError:    labUsageError("lab soak loss"),
		Usage:           "one long run of five peers under steady loss on every link: count false removals, time crash to view",
		UsageText: "roster lab soak loss [--loss 10%] [--duration 10m] [--crash-every 1m] [--down 20s] [--seed S] [--json] [--log FILE]\n\n" +
			"   Every peer drops --loss of its traffic on every link, both ways (UDP packets dropped; TCP dials refused\n" +
			"   and live connections cut). From 30 s, every --crash-every a random peer (every third time the leader)\n" +
			"   is killed and started again --down later with its data. The report counts live peers removed (false\n" +
			"   removals), \"peer N unreachable\" lines about live peers, and the crash-to-view latency (kill to the\n" +
			"   last survivor printing the view without the peer). Exit status: 0 no false removal and every property\n" +
			"   held, 1 otherwise, 2 bad input.",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "loss", Value: "10%", Usage: "share of traffic dropped on every link (0.1 or 10%)"},
			&ucli.DurationFlag{Name: "duration", Value: soak.DefaultLossDuration, Usage: "length of the run"},
			&ucli.DurationFlag{Name: "crash-every", Value: soak.DefaultLossCrashEvery, Usage: "time between kills (0: no kills)"},
			&ucli.DurationFlag{Name: "down", Value: soak.DefaultLossDown, Usage: "how long a killed peer stays down"},
			&ucli.Uint64Flag{Name: "seed", Usage: "seed of the victims and of the peers' loss draws (default: random, printed)"},
			&ucli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&ucli.StringFlag{Name: "log", Usage: "write the judged log to `FILE` (readable by roster check)", TakesFile: true},
			&ucli.StringFlag{Name: "roster", Usage: "the roster binary to start (default: this executable)", TakesFile: true},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usageErr("lab soak loss: unexpected argument %q", c.Args().First())
			}
			loss, err := fault.ParseLoss(c.String("loss"))
			if err != nil {
				return usageErr("lab soak loss: %v", err)
			}
			seed := c.Uint64("seed")
			if !c.IsSet("seed") {
				seed = soak.RandomSeed()
			}
			ctx, stop := interruptible()
			defer stop()
			rep, err := soak.LossRun(ctx, soak.LossConfig{
				Loss: loss, Duration: c.Duration("duration"), CrashEvery: c.Duration("crash-every"), Down: c.Duration("down"),
				Seed: seed, LogPath: c.String("log"), Roster: c.String("roster"),
			}, c.App.ErrWriter)
			if err != nil {
				return labError("lab soak loss", err)
			}
			if err := report(c.App.Writer, c.Bool("json"), rep, rep.WriteText); err != nil {
				return labError("lab soak loss", err)
			}
			return verdict(rep.Passed())
		},
	}
}
