package command

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	ucli "github.com/urfave/cli/v2"

	"roster/lab/fault"
	"roster/lab/faultnode"
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
		&ucli.StringSliceFlag{Name: "join", EnvVars: []string{"ROSTER_JOIN"}, Usage: "find the peers through this DNS name (all its addresses: a compose service scaled with --scale, Swarm's tasks.SERVICE, a Kubernetes headless service) or address (host or host:port), retried until it answers; repeat it or separate with commas. Peers outside the hostsfile are then admitted and get their ids by consensus, and the hostsfile may be left out"},
		&ucli.IntFlag{Name: "bootstrap-expect", EnvVars: []string{"ROSTER_BOOTSTRAP_EXPECT"}, Usage: "without a hostsfile: found a new cluster once this many peers (this one included, none in a cluster) see each other; the lowest name founds it. Give more than half the peers started together; 0 only joins a cluster that exists"},
		&ucli.StringFlag{Name: "name", EnvVars: []string{"ROSTER_NAME"}, Value: host, Usage: "this peer's name in the hostsfile", DefaultText: "the hostname"},
		&ucli.StringFlag{Name: "bind", EnvVars: []string{"ROSTER_BIND"}, Value: "0.0.0.0", Usage: "IP address to listen on"},
		&ucli.StringFlag{Name: "advertise", EnvVars: []string{"ROSTER_ADVERTISE"}, Usage: "IP address the other peers reach this one at (default: the --bind address, else the local address this peer's name resolves to, else the one that routes to the other peers)"},
		&ucli.IntFlag{Name: "raft-port", EnvVars: []string{"ROSTER_RAFT_PORT"}, Value: config.DefaultRaftPort, Usage: "TCP port for Raft"},
		&ucli.IntFlag{Name: "gossip-port", EnvVars: []string{"ROSTER_GOSSIP_PORT"}, Value: config.DefaultGossipPort, Usage: "UDP and TCP port for memberlist failure detection; also the port of hostsfile peers whose line names none"},
		&ucli.IntFlag{Name: "api-port", EnvVars: []string{"ROSTER_API_PORT"}, Value: config.DefaultAPIPort, Usage: "TCP port for the HTTP API (0 turns it off)"},
		&ucli.StringFlag{Name: "data-dir", EnvVars: []string{"ROSTER_DATA_DIR"}, Usage: "directory for Raft's state, kept across restarts (default: none, the state lives in memory); a restarted peer is a new life either way: it prints the views from the one that re-adds it"},
		&ucli.IntFlag{Name: "voters", EnvVars: []string{"ROSTER_VOTERS"}, Value: config.DefaultVoters, Usage: "the most Raft voters (rounded down to odd); other members replicate as non-voters"},
		&ucli.StringFlag{Name: "api-token", EnvVars: []string{tokenEnv}, Usage: "require this token (\"Authorization: Bearer TOKEN\", at least 16 characters) on every API request that changes state; prefer the environment variable to the flag, which other users can see in ps"},
		&ucli.BoolFlag{Name: "api-token-reads", EnvVars: []string{"ROSTER_API_TOKEN_READS"}, Usage: "require the API token on reads (/health, /ready, /view, ...) too"},
		&ucli.DurationFlag{Name: "client-interval", EnvVars: []string{"ROSTER_CLIENT_INTERVAL"}, Value: config.DefaultClientInterval, Usage: "how often the owner of a group client checks it (TCP connect, or GET for http:// addresses)", Category: "client groups"},
		&ucli.IntFlag{Name: "client-misses", EnvVars: []string{"ROSTER_CLIENT_MISSES"}, Value: config.DefaultClientMisses, Usage: "checks in a row a group client may miss before its owner removes it", Category: "client groups"},
		&ucli.StringFlag{Name: "encrypt", EnvVars: []string{"ROSTER_ENCRYPT"}, Usage: "the cluster key (base64, from roster keygen), or several separated by commas, the first used and all accepted: encrypts gossip and authenticates Raft; without one anyone on the network can join", Category: "security"},
		&ucli.StringFlag{Name: "keyring-file", EnvVars: []string{"ROSTER_KEYRING_FILE"}, Usage: "read the cluster keys from this file (one a line, the first used) instead of --encrypt, and again on SIGHUP, to rotate keys without a restart", TakesFile: true, Category: "security"},
		&ucli.StringFlag{Name: "tls-ca", EnvVars: []string{"ROSTER_TLS_CA"}, Usage: "PEM CA file: Raft connections are mutual TLS with certificates of this CA (instead of ones derived from the key), and the API serves HTTPS", TakesFile: true, Category: "security"},
		&ucli.StringFlag{Name: "tls-cert", EnvVars: []string{"ROSTER_TLS_CERT"}, Usage: "PEM certificate of this peer (with --tls-ca)", TakesFile: true, Category: "security"},
		&ucli.StringFlag{Name: "tls-key", EnvVars: []string{"ROSTER_TLS_KEY"}, Usage: "PEM private key of this peer (with --tls-ca)", TakesFile: true, Category: "security"},
		&ucli.StringFlag{Name: "addr-check", EnvVars: []string{"ROSTER_ADDR_CHECK"}, Value: config.AddrCheckAuto, Usage: "admit a peer only from its hostsfile address or what its name resolves to: on, off, or auto (on without a key or TLS files)", Category: "security"},
		&ucli.StringFlag{Name: "log-level", EnvVars: []string{"ROSTER_LOG_LEVEL"}, Value: "warn", Usage: "diagnostic log level: trace, debug, info, warn, error or off"},
		&ucli.BoolFlag{Name: "log-time", EnvVars: []string{"ROSTER_LOG_TIME"}, Value: isTerminal(os.Stderr), Usage: "put a timestamp in front of each diagnostic line (off where the output is stamped already: docker logs -t, journald)", DefaultText: "on when stderr is a terminal"},
		&ucli.BoolFlag{Name: "faults", EnvVars: []string{"ROSTER_FAULTS"}, Usage: "serve the fault API (/faults on the API port) to change faults at run time", Category: "fault injection"},
		&ucli.StringFlag{Name: "loss", EnvVars: []string{"ROSTER_LOSS"}, Usage: "drop this share of what this peer sends on every link, e.g. 0.1 or 10% (UDP packets dropped; TCP dials refused and connections cut at a write); give every peer the same --loss for that loss on every link, each way", Category: "fault injection"},
		&ucli.StringFlag{Name: "latency", EnvVars: []string{"ROSTER_LATENCY"}, Usage: "delay every message this peer sends, e.g. 50ms or 50ms±20ms (also 50ms+-20ms); -d is the start delay", Category: "fault injection"},
		&ucli.StringFlag{Name: "partition", EnvVars: []string{"ROSTER_PARTITION"}, Usage: "cut the group into sides, e.g. \"1,2|3,4,5\"", Category: "fault injection"},
		&ucli.DurationFlag{Name: "partition-at", EnvVars: []string{"ROSTER_PARTITION_AT"}, Usage: "when the partition starts, counted from the peer's process start (before -d)", Category: "fault injection"},
		&ucli.DurationFlag{Name: "heal-at", EnvVars: []string{"ROSTER_HEAL_AT"}, Usage: "when the partition heals, counted from the process start (default: never)", Category: "fault injection"},
		&ucli.Uint64Flag{Name: "fault-seed", EnvVars: []string{"ROSTER_FAULT_SEED"}, Usage: "seed of the random losses and jitter, to replay a run (default: random, logged at info level)", Category: "fault injection"},
	}
}

// faultOptions reads the fault injection flags; enabled says whether any
// asks for fault injection.
func faultOptions(c *ucli.Context, start time.Time) (fo faultnode.Options, enabled bool, err error) {
	fo = faultnode.Options{API: c.Bool("faults"), Start: start, Seed: c.Uint64("fault-seed"), LeaderCrash: c.Bool("leader-crash")}
	if s := c.String("loss"); s != "" {
		if fo.Flags.Loss, err = fault.ParseLoss(s); err != nil {
			return fo, false, err
		}
	}
	if s := c.String("latency"); s != "" {
		if fo.Flags.Delay, fo.Flags.Jitter, err = fault.ParseDelay(s); err != nil {
			return fo, false, err
		}
	}
	if s := c.String("partition"); s != "" {
		if fo.Flags.Partition, err = fault.ParsePartition(s); err != nil {
			return fo, false, err
		}
	}
	fo.Flags.PartitionAt, fo.Flags.HealAt = c.Duration("partition-at"), c.Duration("heal-at")
	if err := fo.Flags.Validate(); err != nil {
		return fo, false, err
	}
	enabled = fo.API || fo.LeaderCrash || fo.Flags.Loss > 0 || fo.Flags.Delay > 0 || len(fo.Flags.Partition) > 0 || c.IsSet("fault-seed")
	return fo, enabled, nil
}

// peerConfig builds and checks the peer's config from the flags.
func peerConfig(c *ucli.Context) (config.Config, error) {
	cfg := config.Config{
		Name: c.String("name"), Bind: c.String("bind"), Advertise: c.String("advertise"),
		RaftPort: c.Int("raft-port"), GossipPort: c.Int("gossip-port"), APIPort: c.Int("api-port"),
		DataDir: c.String("data-dir"), Voters: c.Int("voters"), LogLevel: c.String("log-level"), LogTime: c.Bool("log-time"),
		APIToken: c.String("api-token"), APITokenReads: c.Bool("api-token-reads"),
		ClientInterval: c.Duration("client-interval"), ClientMisses: c.Int("client-misses"),
		ViewLog: c.App.ErrWriter, DiagLog: c.App.ErrWriter,
		TLSCA: c.String("tls-ca"), TLSCert: c.String("tls-cert"), TLSKey: c.String("tls-key"),
		AddrCheck:       c.String("addr-check"),
		BootstrapExpect: c.Int("bootstrap-expect"),
	}
	for _, j := range c.StringSlice("join") {
		for _, t := range strings.Split(j, ",") {
			if t = strings.TrimSpace(t); t != "" {
				cfg.Join = append(cfg.Join, t)
			}
		}
	}
	if c.IsSet("join") && len(cfg.Join) == 0 {
		return cfg, fmt.Errorf("--join: want a DNS name or an address, got nothing")
	}
	keys, err := clusterKeys(c)
	if err != nil {
		return cfg, err
	}
	cfg.Keys = keys
	switch cfg.LogLevel {
	case "trace", "debug", "info", "warn", "error", "off":
	default:
		return cfg, fmt.Errorf("--log-level %q: want trace, debug, info, warn, error or off", cfg.LogLevel)
	}
	path := c.String("hostsfile")
	if path == "" {
		if len(cfg.Join) == 0 {
			return cfg, config.ErrNoHostsfile
		}
		return cfg, cfg.Validate()
	}
	var hf *hostsfile.File
	hf, err = hostsfile.Load(path)
	if err != nil {
		return cfg, err
	}
	cfg.Hosts = hf
	return cfg, cfg.Validate()
}

// maxSeconds bounds -d and -c: a day.
const maxSeconds = 86400

// seconds reads a flag given in seconds (-d, -c): a finite number from 0 to
// a day.
func seconds(c *ucli.Context, flag string) (time.Duration, error) {
	s := c.Float64(flag)
	if math.IsNaN(s) || math.IsInf(s, 0) || s < 0 || s > maxSeconds {
		return 0, fmt.Errorf("--%s %v: want seconds from 0 to %d", flag, s, maxSeconds)
	}
	return time.Duration(s * float64(time.Second)), nil
}

// runPeer runs one peer until a signal (graceful leave, exit 0) or its
// scripted crash (exit 1).
func runPeer(c *ucli.Context) error {
	if c.NArg() > 0 {
		return usageErr("unexpected argument %q (a peer takes only flags; commands: lab, check, health, view, client, groups, group)", c.Args().First())
	}
	if !c.IsSet("hostsfile") && c.NumFlags() == 0 {
		ucli.ShowAppHelp(c)
		return usageErr("%v", config.ErrNoHostsfile)
	}
	start := time.Now()
	joined := tuneGC()
	cfg, err := peerConfig(c)
	if err != nil {
		return usageErr("%v", err)
	}
	delay, err := seconds(c, "delay")
	if err != nil {
		return usageErr("%v", err)
	}
	crashAfter, err := seconds(c, "crash-after")
	if err != nil {
		return usageErr("%v", err)
	}
	faults, withFaults, err := faultOptions(c, start)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := checkFaultAPI(cfg, faults.API); err != nil {
		return usageErr("%v", err)
	}
	if withFaults && cfg.Self.ID == 0 {
		return usageErr("fault injection names peers by their hostsfile ids: %s is not in the hostsfile (give it a line, or leave out the fault flags)", cfg.Name)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil
		}
	}
	var opts node.Options
	var fp *faultnode.Peer
	var selfCrash <-chan struct{}
	if withFaults {
		fp = faultnode.New(cfg, faults)
		opts = fp.NodeOptions(opts)
		selfCrash = fp.Crashed()
	}
	opts.OnInstall = onFirstView(opts.OnInstall, joined)
	n, err := node.StartContext(ctx, cfg, opts)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while it waited for its id
		}
		return startErr(cfg.Name, err)
	}
	if path := c.String("keyring-file"); path != "" {
		stopReload := reloadKeysOnHUP(n, path)
		defer stopReload()
	}
	if fp != nil {
		defer fp.Close()
		if err := fp.Attach(n); err != nil {
			n.Close()
			return usageErr("peer %s: %v", cfg.Name, err)
		}
	}
	var crash <-chan time.Time
	if crashAfter > 0 {
		crash = time.After(crashAfter)
	}
	select {
	case <-ctx.Done():
		n.Leave(5 * time.Second)
		return nil
	case <-crash:
		n.Crash()
		return ucli.Exit("", ExitFailure)
	case <-selfCrash:
		return ucli.Exit("", ExitFailure)
	}
}

// checkFaultAPI refuses the fault API (anyone who reaches it can pause or
// cut off the peer) without an API token, unless the API listens on a
// loopback address only.
func checkFaultAPI(cfg config.Config, api bool) error {
	if !api || cfg.APIPort == 0 || cfg.APIToken != "" {
		return nil
	}
	if ip := net.ParseIP(cfg.Bind); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--faults lets anyone who reaches the API port pause or cut off this peer: set an API token (--api-token or %s), or --bind a loopback address", tokenEnv)
}

// startErr turns node.Start's error into the exit: a data dir that cannot
// be used exits ExitStorage, anything else (ports, a data dir of another
// cluster) ExitUsage, each with one line.
func startErr(name string, err error) error {
	var se *node.StoreError
	if errors.As(err, &se) {
		return ucli.Exit(fmt.Sprintf("roster: peer %s: %v", name, err), ExitStorage)
	}
	return usageErr("peer %s: %v", name, err)
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
