package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	ucli "github.com/urfave/cli/v2"

	"roster/peer/config"
	"roster/peer/hostsfile"
	"roster/peer/node"
)

func peerFlags() []ucli.Flag {
	host, _ := os.Hostname()
	return []ucli.Flag{
		&ucli.StringFlag{Name: "hostsfile", Aliases: []string{"h"}, EnvVars: []string{"ROSTER_HOSTSFILE"}, Usage: "the hostsfile: one peer name a line, the line number is its id", TakesFile: true},
		&ucli.Float64Flag{Name: "delay", Aliases: []string{"d"}, EnvVars: []string{"ROSTER_DELAY"}, Usage: "seconds to wait before starting"},
		&ucli.Float64Flag{Name: "crash-after", Aliases: []string{"c"}, EnvVars: []string{"ROSTER_CRASH_AFTER"}, Usage: "crash (print \"crashing\", exit 1, no graceful leave) this many seconds after starting"},
		&ucli.BoolFlag{Name: "leader-crash", Aliases: []string{"t"}, EnvVars: []string{"ROSTER_LEADER_CRASH"}, Usage: "test case 4: as leader, drop the replication of the next removal to the peer next in line and crash once it reached a majority"},
		&ucli.StringFlag{Name: "name", EnvVars: []string{"ROSTER_NAME"}, Value: host, Usage: "this peer's name in the hostsfile", DefaultText: "the hostname"},
		&ucli.StringFlag{Name: "bind", EnvVars: []string{"ROSTER_BIND"}, Value: "0.0.0.0", Usage: "IP address to listen on"},
		&ucli.StringFlag{Name: "advertise", EnvVars: []string{"ROSTER_ADVERTISE"}, Usage: "IP address the other peers reach this one at (default: the bind address, or an interface's)"},
		&ucli.IntFlag{Name: "raft-port", EnvVars: []string{"ROSTER_RAFT_PORT"}, Value: config.DefaultRaftPort, Usage: "TCP port for Raft"},
		&ucli.IntFlag{Name: "gossip-port", EnvVars: []string{"ROSTER_GOSSIP_PORT"}, Value: config.DefaultGossipPort, Usage: "UDP and TCP port for memberlist failure detection; also the port of hostsfile peers whose line names none"},
		&ucli.IntFlag{Name: "api-port", EnvVars: []string{"ROSTER_API_PORT"}, Value: config.DefaultAPIPort, Usage: "TCP port for the HTTP API (0 turns it off)"},
		&ucli.StringFlag{Name: "data-dir", EnvVars: []string{"ROSTER_DATA_DIR"}, Usage: "directory for Raft's state; a restarted peer with the same directory rejoins with its history (default: a temporary directory, removed at exit)"},
		&ucli.IntFlag{Name: "voters", EnvVars: []string{"ROSTER_VOTERS"}, Value: config.DefaultVoters, Usage: "the most Raft voters (rounded down to odd); other members replicate as non-voters"},
		&ucli.StringFlag{Name: "log-level", EnvVars: []string{"ROSTER_LOG_LEVEL"}, Value: "warn", Usage: "diagnostic log level: trace, debug, info, warn, error or off"},
	}
}

// peerConfig builds and checks the peer's config from the flags.
func peerConfig(c *ucli.Context) (config.Config, error) {
	cfg := config.Config{
		Name: c.String("name"), Bind: c.String("bind"), Advertise: c.String("advertise"),
		RaftPort: c.Int("raft-port"), GossipPort: c.Int("gossip-port"), APIPort: c.Int("api-port"),
		DataDir: c.String("data-dir"), Voters: c.Int("voters"), LogLevel: c.String("log-level"),
		StartDelay:  seconds(c.Float64("delay")),
		CrashAfter:  seconds(c.Float64("crash-after")),
		LeaderCrash: c.Bool("leader-crash"),
		ViewLog:     c.App.ErrWriter, DiagLog: c.App.ErrWriter,
	}
	switch cfg.LogLevel {
	case "trace", "debug", "info", "warn", "error", "off":
	default:
		return cfg, fmt.Errorf("--log-level %q: want trace, debug, info, warn, error or off", cfg.LogLevel)
	}
	path := c.String("hostsfile")
	if path == "" {
		return cfg, errors.New("a hostsfile is required: -h FILE")
	}
	hf, err := hostsfile.Load(path)
	if err != nil {
		return cfg, err
	}
	cfg.Hosts = hf
	return cfg, cfg.Validate()
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// runPeer runs one peer until a signal (graceful leave, exit 0) or its
// scripted crash (exit 1).
func runPeer(c *ucli.Context) error {
	if c.NArg() > 0 {
		return usageErr("unexpected argument %q (a peer takes only flags; commands: lab, check, health, view)", c.Args().First())
	}
	if !c.IsSet("hostsfile") && c.NumFlags() == 0 {
		ucli.ShowAppHelp(c)
		return usageErr("a hostsfile is required: -h FILE")
	}
	cfg, err := peerConfig(c)
	if err != nil {
		return usageErr("%v", err)
	}
	if cfg.LeaderCrash {
		return usageErr("-t (leader crash with message loss) is not yet supported")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if cfg.StartDelay > 0 {
		select {
		case <-time.After(cfg.StartDelay):
		case <-ctx.Done():
			return nil
		}
	}
	n, err := node.Start(cfg, node.Options{})
	if err != nil {
		return usageErr("peer %s: %v", cfg.Name, err)
	}
	var crash <-chan time.Time
	if cfg.CrashAfter > 0 {
		crash = time.After(cfg.CrashAfter)
	}
	select {
	case <-ctx.Done():
		n.Leave(5 * time.Second)
		return nil
	case <-crash:
		n.Crash()
		return ucli.Exit("", ExitFailure)
	}
}
