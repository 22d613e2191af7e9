package command

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	ucli "github.com/urfave/cli/v2"

	"roster/lab/nemesis"
)

// nemesisCommand is `roster nemesis`: drive the peers' fault APIs on a
// schedule. It parses its own arguments (steps are "--at T ACTION ARGS...",
// which a flag parser cannot read).
func nemesisCommand() *ucli.Command {
	return &ucli.Command{
		Name:            "nemesis",
		Usage:           "inject faults into running peers (started with --faults) on a schedule: partitions, pauses, loss, delay",
		UsageText:       "roster nemesis [-h HOSTSFILE] [--api-port 8082] [--peers NAME=HOST:PORT,...] [--retry 3s] [--dry-run] --at TIME ACTION [ARGS] [--at TIME ACTION [ARGS]]...",
		SkipFlagParsing: true,
		HideHelpCommand: true,
		Description: "Times count from the start of the nemesis (a scenario starts it with its peers). Actions:\n" +
			"     partition 1,2/3,4,5     cut the group into sides, on every peer (names work too; '|' as well as '/')\n" +
			"     heal                    remove the partition on every peer\n" +
			"     pause PEER 10s          the peer drops all its traffic for 10 s\n" +
			"     resume PEER             end a pause early\n" +
			"     loss 10% [PEERS]        drop this share of traffic on every link of the peers (default all; 0 removes it)\n" +
			"     delay 50ms±20ms [PEERS] delay every message (also 50ms+-20ms; 0 removes it)\n" +
			"     clear [PEERS]           remove every fault\n" +
			"     kill PEER, start PEER   only under roster lab soak, which controls the processes\n" +
			"     cut-client GROUP CLIENT the client's owner can no longer reach it (its checks fail; other peers can)\n" +
			"     heal-client GROUP CLIENT remove that cut from every peer\n" +
			"   PEER is a hostsfile name, an id, or leader (the current Raft leader). Peers are found by --peers,\n" +
			"   else $" + nemesis.PeersEnv + " (set by roster lab), else the hostsfile's names at --api-port.\n" +
			"   The peers' API token, if they have one, is read from $" + tokenEnv + ".\n" +
			"   Example: roster nemesis -h hostsfile.txt --at 15s partition 1,2/3,4,5 --at 35s heal --at 50s pause leader 10s\n" +
			"   Exit status: 0 every step reached a peer, 1 some step reached none, 2 bad arguments.",
		Action: func(c *ucli.Context) error {
			cfg, err := nemesis.ParseArgs(c.Args().Slice())
			if err != nil {
				return usageErr("nemesis: %v (see roster nemesis --help)", err)
			}
			if cfg.Help {
				return ucli.ShowCommandHelp(c, "nemesis")
			}
			return runNemesis(c, cfg)
		},
	}
}

func runNemesis(c *ucli.Context, cfg nemesis.Config) error {
	start := time.Now()
	targets, from, err := cfg.Targets(os.Getenv)
	if err != nil {
		return usageErr("nemesis: %v", err)
	}
	peers, err := nemesis.NewPeers(targets)
	if err != nil {
		return usageErr("nemesis: %v", err)
	}
	token := os.Getenv(tokenEnv)
	peers.Token = token
	out := c.App.Writer
	desc := ""
	for _, t := range targets {
		id := "?"
		if t.ID > 0 {
			id = fmt.Sprint(t.ID)
		}
		desc += fmt.Sprintf(" %s(%s)=%s", t.Name, id, t.API)
	}
	fmt.Fprintf(out, "nemesis: peers from %s:%s\n", from, desc)
	fmt.Fprintf(out, "nemesis: schedule: %s\n", nemesis.FormatSchedule(cfg.Steps))
	if cfg.DryRun {
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &nemesis.Runner{Peers: peers, Retry: cfg.Retry, Token: token, Log: func(s string) { fmt.Fprintln(out, s) }}
	failed := r.Run(ctx, start, cfg.Steps)
	if ctx.Err() != nil {
		return nil // stopped from outside: the end of the scenario
	}
	if failed > 0 {
		return ucli.Exit(fmt.Sprintf("roster nemesis: %d of %d steps reached no peer", failed, len(cfg.Steps)), ExitFailure)
	}
	return nil
}
