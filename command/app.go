// Package cli is roster's command line: the root command runs one peer, and
// subcommands hold the lab tools (lab, check, health, ...).
package command

import (
	"errors"
	"fmt"
	"io"
	"os"

	ucli "github.com/urfave/cli/v2"
)

// Exit statuses shared by every command.
const (
	// ExitOK means success.
	ExitOK = 0
	// ExitFailure means the command ran and what it checked failed, or a peer crashed.
	ExitFailure = 1
	// ExitUsage means bad input: flags, files, names, a data dir of another
	// cluster.
	ExitUsage = 2
	// ExitStorage means a peer's data dir cannot be used: its store is
	// corrupt, or held by another process.
	ExitStorage = 3
)

// tokenEnv is the environment variable of the peers' API token, read by the
// peer (--api-token) and by the commands that talk to peers.
const tokenEnv = "ROSTER_API_TOKEN"

func init() {
	// Memberly-style compose files use -h for the hostsfile, so help is --help only.
	ucli.HelpFlag = &ucli.BoolFlag{Name: "help", Usage: "show help"}
}

// New builds the roster application. Each call returns a fresh App; it is not
// safe to run one App from several goroutines at once.
func New(stdout, stderr io.Writer) *ucli.App {
	app := &ucli.App{
		Name:  "roster",
		Usage: "a group membership peer (memberlist failure detection, Raft-committed views), and a lab for breaking it",
		Description: "Run with -h HOSTSFILE (or --join NAME, to find the peers by DNS) to start a peer. Each peer prints the views it installs on stderr as\n" +
			"   {peer_id:2, view_id: 3, leader: 1, memb_list: [1,2,3]}\n" +
			"The subcommands run scenarios, check view logs and query peers.",
		UsageText:       "roster -h HOSTSFILE [-d SECONDS] [-c SECONDS] [-t] [options]\n   roster --join NAME [--bootstrap-expect N] [options]\n   roster COMMAND [options]",
		Flags:           peerFlags(),
		Action:          runPeer,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		Commands: []*ucli.Command{
			labCommand(),
			checkCommand(),
			healthCommand(),
			viewCommand(),
			nemesisCommand(),
			clientCommand(),
			groupsCommand(),
			groupCommand(),
			keygenCommand(),
		},
		ExitErrHandler: func(*ucli.Context, error) {},
		OnUsageError: func(c *ucli.Context, err error, _ bool) error {
			return ucli.Exit(fmt.Sprintf("roster: %v (see roster --help)", err), ExitUsage)
		},
	}
	return app
}

// Main runs roster with the given arguments (args[0] is the program name) and
// returns the process exit status. Errors are printed as one line on stderr.
func Main(args []string) int {
	return run(New(os.Stdout, os.Stderr), args, os.Stderr)
}

func run(app *ucli.App, args []string, stderr io.Writer) int {
	err := app.Run(args)
	if err == nil {
		return ExitOK
	}
	var ec ucli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, msg)
		}
		return ec.ExitCode()
	}
	// Errors urfave/cli reports itself (unknown flags, bad values) are usage errors.
	fmt.Fprintf(stderr, "roster: %v (see roster --help)\n", err)
	return ExitUsage
}

// usageErr returns an error that prints msg and exits with ExitUsage.
func usageErr(format string, a ...any) error {
	return ucli.Exit("roster: "+fmt.Sprintf(format, a...), ExitUsage)
}
