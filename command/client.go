package command

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	ucli "github.com/urfave/cli/v2"

	"roster/peer/api"
	"roster/peer/groupclient"
	"roster/peer/viewlog"
)

// clientCommand runs a member of a client group.
func clientCommand() *ucli.Command {
	host, _ := os.Hostname()
	return &ucli.Command{
		Name:      "client",
		Usage:     "join a client group through any peer, answer its checks, and print each group view it sees",
		UsageText: "roster client --group G --id C --peers HOST:PORT[,HOST:PORT...] [--listen :7070] [--check tcp|http] [-c SECONDS] [-d SECONDS]",
		Description: "Prints one line per group view on stdout:\n" +
			"   {client:\"c1\", group:\"jobs\", group_view: 7, members: [\"c1\",\"c2\"]}\n" +
			"   and joining, leaving (SIGTERM, SIGINT: a graceful leave) and crashing (-c: exit 1, no leave) lines.",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "group", Aliases: []string{"g"}, EnvVars: []string{"ROSTER_GROUP"}, Usage: "the group to join"},
			&ucli.StringFlag{Name: "id", EnvVars: []string{"ROSTER_CLIENT_ID"}, Value: host, DefaultText: "the hostname", Usage: "this client's id in the group"},
			&ucli.StringFlag{Name: "peers", EnvVars: []string{"ROSTER_PEERS", "ROSTER_LAB_PEERS"}, Usage: "the peers' API addresses, HOST:PORT,... (NAME=HOST:PORT accepted); tried in turn"},
			&ucli.StringFlag{Name: "listen", EnvVars: []string{"ROSTER_CLIENT_LISTEN"}, Value: ":7070", Usage: "where to answer the peers' checks"},
			&ucli.StringFlag{Name: "advertise", EnvVars: []string{"ROSTER_CLIENT_ADVERTISE"}, Usage: "the host the peers check this client at (default: the listen IP, or the IP this host reaches the first peer from)"},
			&ucli.StringFlag{Name: "health", EnvVars: []string{"ROSTER_CLIENT_HEALTH"}, Usage: "`HOST:PORT` to answer GET /health and /ready on (roster health asks it: ready when in the group); the Docker image sets 127.0.0.1:8082, where its HEALTHCHECK asks (default: none)"},
			&ucli.StringFlag{Name: "check", EnvVars: []string{"ROSTER_CLIENT_CHECK"}, Value: "tcp", Usage: "how the peers check this client: tcp (a connect) or http (GET / answers 200)"},
			&ucli.StringFlag{Name: "meta", EnvVars: []string{"ROSTER_CLIENT_META"}, Usage: "a JSON object published with the membership"},
			&ucli.DurationFlag{Name: "keepalive", EnvVars: []string{"ROSTER_CLIENT_KEEPALIVE"}, Usage: "send a keepalive this often (0: none; the peers' checks suffice)"},
			&ucli.DurationFlag{Name: "wait", Value: 30 * time.Second, Usage: "the wait of each blocking query that follows the group"},
			&ucli.Float64Flag{Name: "delay", Aliases: []string{"d"}, EnvVars: []string{"ROSTER_DELAY"}, Usage: "seconds to wait before starting"},
			&ucli.Float64Flag{Name: "crash-after", Aliases: []string{"c"}, EnvVars: []string{"ROSTER_CRASH_AFTER"}, Usage: "crash (print \"crashing\", exit 1, no leave) this many seconds after starting"},
		},
		Action: runClient,
	}
}

// clientSetup is the checked input of roster client.
type clientSetup struct {
	group, id string
	peers     []string
	httpCheck bool
	meta      json.RawMessage
}

func readClientFlags(c *ucli.Context) (clientSetup, error) {
	var s clientSetup
	if c.NArg() > 0 {
		return s, fmt.Errorf("unexpected argument %q", c.Args().First())
	}
	s.group, s.id = c.String("group"), c.String("id")
	if s.group == "" {
		return s, fmt.Errorf("--group is required")
	}
	if err := api.ValidateID("--group", s.group); err != nil {
		return s, err
	}
	if err := api.ValidateID("--id", s.id); err != nil {
		return s, err
	}
	peers, err := parsePeers(c.String("peers"))
	if err != nil {
		return s, err
	}
	s.peers = peers
	switch c.String("check") {
	case "tcp":
	case "http":
		s.httpCheck = true
	default:
		return s, fmt.Errorf("--check %q: want tcp or http", c.String("check"))
	}
	if m := c.String("meta"); m != "" {
		s.meta = json.RawMessage(m)
		if err := api.ValidateMeta(s.meta); err != nil {
			return s, fmt.Errorf("--meta: %v", err)
		}
	}
	if c.Duration("keepalive") < 0 || c.Duration("wait") <= 0 {
		return s, fmt.Errorf("--keepalive and --wait must be positive durations")
	}
	return s, nil
}

// parsePeers reads --peers: HOST:PORT or NAME=HOST:PORT, comma-separated.
func parsePeers(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if i := strings.IndexByte(p, '='); i >= 0 {
			p = p[i+1:]
		}
		if _, port, err := net.SplitHostPort(p); err != nil || port == "" {
			return nil, fmt.Errorf("--peers: %q is not HOST:PORT", p)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--peers is required: the peers' API addresses, HOST:PORT,...")
	}
	return out, nil
}

// resolveWait bounds how long a client waits for a peer's name to resolve
// to tell its own address: under compose the peers' containers may start
// after the client's, and their names resolve only once they run.
const resolveWait = time.Minute

// checkAddr returns the address the peers check this client at. Without
// --advertise or a specific --listen IP it is the local address of the route
// to a peer, trying each peer in turn, again every half second until one
// resolves, for at most resolveWait or until ctx ends.
func checkAddr(ctx context.Context, ln net.Listener, advertise string, peers []string, httpCheck bool) (string, error) {
	la := ln.Addr().(*net.TCPAddr)
	host := advertise
	if host == "" && !la.IP.IsUnspecified() {
		host = la.IP.String()
	}
	deadline := time.Now().Add(resolveWait)
	for host == "" {
		ip, err := routeIP(peers)
		if err == nil {
			host = ip
			break
		}
		if time.Now().After(deadline) || !pause(ctx, 500*time.Millisecond) {
			return "", fmt.Errorf("cannot tell which IP the peers reach this client at (use --advertise): %v", err)
		}
	}
	addr := net.JoinHostPort(host, strconv.Itoa(la.Port))
	if httpCheck {
		return "http://" + addr + "/", nil
	}
	return addr, nil
}

// routeIP returns the local IP this host reaches the first peer it can
// resolve from (a UDP "connect": no packet is sent); the error is the last
// peer's.
func routeIP(peers []string) (string, error) {
	var err error
	for _, p := range peers {
		var c net.Conn
		if c, err = net.Dial("udp", p); err == nil {
			ip := c.LocalAddr().(*net.UDPAddr).IP.String()
			c.Close()
			return ip, nil
		}
	}
	return "", err
}

func runClient(c *ucli.Context) error {
	s, err := readClientFlags(c)
	if err != nil {
		return usageErr("client: %v", err)
	}
	delay, err := seconds(c, "delay")
	if err != nil {
		return usageErr("client: %v", err)
	}
	crashAfter, err := seconds(c, "crash-after")
	if err != nil {
		return usageErr("client: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if delay > 0 && !pause(ctx, delay) {
		return nil
	}
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return usageErr("client: listen %s: %v", c.String("listen"), unwrapOpError(err))
	}
	defer ln.Close()
	addr, err := checkAddr(ctx, ln, c.String("advertise"), s.peers, s.httpCheck)
	if err != nil {
		return usageErr("client: %v", err)
	}
	if s.httpCheck {
		go groupclient.ServeHTTP(ln)
	} else {
		go groupclient.ServeTCP(ln)
	}
	m := groupclient.New(groupclient.Config{
		Group: s.group, Client: s.id, Addr: addr, Meta: s.meta,
		Peers:     &api.GroupsClient{Addrs: s.peers, Header: tokenHeader()},
		Keepalive: c.Duration("keepalive"), Wait: c.Duration("wait"),
		Log: viewlog.NewGroup(c.App.Writer, s.id, s.group),
		Errorf: func(format string, a ...any) {
			fmt.Fprintf(c.App.ErrWriter, "roster client: "+format+"\n", a...)
		},
	})
	if h := c.String("health"); h != "" {
		// A health address that cannot be bound (a peer's API on this
		// host, say) costs the client nothing else: it says so and runs.
		if hl, err := net.Listen("tcp", h); err != nil {
			fmt.Fprintf(c.App.ErrWriter, "roster client: no health answers on %s: %v\n", h, unwrapOpError(err))
		} else {
			defer hl.Close()
			go groupclient.ServeHealth(hl, m)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	var crash <-chan time.Time
	if crashAfter > 0 {
		crash = time.After(crashAfter)
	}
	select {
	case <-ctx.Done():
		cancel()
		<-done
		if err := m.Leave(5 * time.Second); err != nil {
			return ucli.Exit("roster client: leave: "+err.Error(), ExitFailure)
		}
		return nil
	case <-crash:
		m.Crash()
		return ucli.Exit("", ExitFailure)
	case <-done:
		return ucli.Exit(fmt.Sprintf("roster client: cannot join group %q (see above)", s.group), ExitFailure)
	}
}

// pause waits d or until ctx is done; it reports whether ctx is still live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// unwrapOpError keeps the useful tail of a net.OpError.
func unwrapOpError(err error) error {
	if op, ok := err.(*net.OpError); ok {
		return op.Err
	}
	return err
}
