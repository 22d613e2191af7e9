//go:build !nolab

package command

import (
	"encoding/json"
	"os"

	ucli "github.com/urfave/cli/v2"

	"roster/lab/attack"
)

func labAttackCommand() *ucli.Command {
	return &ucli.Command{
		Name:            "attack",
		HideHelpCommand: true,
		OnUsageError:    labUsageError("lab attack"),
		Usage:           "attack real local peers the way someone on their network would, and judge what they did",
		UsageText: "roster lab attack [--mode open|encrypted|both] [--probe NAME]... [--roster PATH] [--rss-limit MB] [--json]\n\n" +
			"   Each probe starts five peers as processes on a loopback block (127.X.Y.11-15, ports 8080-8082), attacks\n" +
			"   them, and judges: every peer still running, none past the RSS bound, no forged view, and the checker's\n" +
			"   agreement and order over every view line. It prints a table probe -> outcome. Probes that only a key\n" +
			"   can stop (the attacker sends from a peer's own address) are not held against an open cluster.\n" +
			"   Exit status: 0 every asserted probe passed, 1 one failed, 2 bad input or a cluster did not start.\n" +
			"   Probes: " + joinNames(attack.Names()),
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "mode", Value: "both", Usage: "open (no key), encrypted (a fresh key per cluster), or both"},
			&ucli.StringSliceFlag{Name: "probe", Usage: "run only this probe (repeatable)"},
			&ucli.StringFlag{Name: "roster", Usage: "the roster binary to attack (default: this executable)", TakesFile: true},
			&ucli.IntFlag{Name: "rss-limit", Value: attack.DefaultRSSLimitMB, Usage: "the resident set (MB) no peer may pass"},
			&ucli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&ucli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print every line the peers printed after each probe (on stderr)"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usageErr("lab attack: unexpected argument %q", c.Args().First())
			}
			var modes []string
			switch m := c.String("mode"); m {
			case "both":
				modes = []string{attack.Open, attack.Encrypted}
			case attack.Open, attack.Encrypted:
				modes = []string{m}
			default:
				return usageErr("lab attack: --mode %q: want open, encrypted or both", m)
			}
			bin := c.String("roster")
			if bin == "" {
				exe, err := os.Executable()
				if err != nil {
					return usageErr("lab attack: %v", err)
				}
				bin = exe
			}
			ctx, stop := interruptible()
			defer stop()
			opts := attack.Options{Bin: bin, Modes: modes, Probes: c.StringSlice("probe"), RSSLimitMB: c.Int("rss-limit")}
			if !c.Bool("json") {
				opts.Progress = c.App.ErrWriter
			}
			if c.Bool("verbose") {
				opts.Output = c.App.ErrWriter
			}
			rep, err := attack.Run(ctx, opts)
			if err != nil {
				return usageErr("lab attack: %v", err)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				enc.Encode(rep)
			} else {
				attack.WriteTable(c.App.Writer, rep)
			}
			if !rep.Pass {
				return ucli.Exit("", ExitFailure)
			}
			return nil
		},
	}
}

func joinNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}
