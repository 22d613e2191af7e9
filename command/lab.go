//go:build !nolab

package command

import (
	ucli "github.com/urfave/cli/v2"

	"roster/lab/runner"
)

// labCommand is `roster lab`: run scenarios on this machine.
func labCommand() *ucli.Command {
	return &ucli.Command{
		Name:            "lab",
		Usage:           "run scenarios on this machine, without Docker",
		HideHelpCommand: true,
		Subcommands: []*ucli.Command{
			labUpCommand(),
			soakCommand(),
			benchCommand(),
			labGroupsCommand(),
			labAttackCommand(),
			labPeersCommand(),
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usageErr("lab: unknown command %q (see roster lab --help)", c.Args().First())
			}
			return ucli.ShowSubcommandHelp(c)
		},
		OnUsageError: labUsageError("lab"),
	}
}

func labUpCommand() *ucli.Command {
	return &ucli.Command{
		Name:            "up",
		HideHelpCommand: true,
		OnUsageError:    labUsageError("lab up"),
		Usage:           "run a compose file's peers as local processes, print their output, and judge their views",
		UsageText: "roster lab up -f FILE.yml [--duration D] [--timestamps] [--log FILE] [--html FILE] [--json] [--roster PATH]\n\n" +
			"   Each service becomes one roster process with its own loopback address (127.X.Y.11, .12, ... on Linux)\n" +
			"   and free ports; the services' -h hostsfile gives the peer ids. Output is prefixed like docker compose\n" +
			"   (\"one   | ...\"). At the end (the file's x-roster duration, --duration, or Ctrl-C) every peer is stopped\n" +
			"   and the checker judges the views. Exit status: 0 the checker passed, 1 a peer failed unexpectedly or a\n" +
			"   property was violated, 2 bad input or nothing to judge.",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "the compose file", TakesFile: true},
			&ucli.DurationFlag{Name: "duration", Usage: "how long the scenario runs (default: the file's x-roster: {duration: ...})"},
			&ucli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "print a receive timestamp on every line, like docker compose logs -t"},
			&ucli.StringFlag{Name: "log", Usage: "also write the timestamped output to `FILE` (readable by roster check)", TakesFile: true},
			&ucli.StringFlag{Name: "html", Usage: "write the checker's HTML report to `FILE`", TakesFile: true},
			&ucli.BoolFlag{Name: "json", Usage: "print the result as JSON on stdout (the peers' output goes to stderr)"},
			&ucli.StringFlag{Name: "roster", Usage: "the roster binary to start (default: this executable)", TakesFile: true},
			&ucli.BoolFlag{Name: "keep", Usage: "keep the run directory (generated hostsfile, data directories)"},
			&ucli.DurationFlag{Name: "stop-timeout", Value: runner.DefaultStopTimeout, Usage: "how long to wait after SIGTERM before killing a peer at the end"},
			&ucli.BoolFlag{Name: "shared-loopback", Usage: "put every peer on 127.0.0.1 with its own ports (the default where there is no loopback range)"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usageErr("lab up: unexpected argument %q (the compose file goes after -f)", c.Args().First())
			}
			ctx, stop := interruptible()
			defer stop()
			v, err := runner.Up(ctx, runner.UpConfig{
				File:           c.String("file"),
				Duration:       c.Duration("duration"),
				Timestamps:     c.Bool("timestamps"),
				LogPath:        c.String("log"),
				HTMLPath:       c.String("html"),
				JSON:           c.Bool("json"),
				Roster:         c.String("roster"),
				KeepRunDir:     c.Bool("keep"),
				StopTimeout:    c.Duration("stop-timeout"),
				SharedLoopback: c.Bool("shared-loopback"),
			}, c.App.Writer, c.App.ErrWriter)
			if err != nil {
				return labError("lab up", err)
			}
			if st := v.Status(); st != ExitOK {
				return ucli.Exit("", st)
			}
			return nil
		},
	}
}

// labUsageError turns urfave/cli's flag errors for `roster NAME` into one
// line and status 2.
func labUsageError(name string) ucli.OnUsageErrorFunc {
	return func(_ *ucli.Context, err error, _ bool) error {
		return usageErr("%s: %v (see roster %s --help)", name, err, name)
	}
}
