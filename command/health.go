package command

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"roster/peer/api"
	"roster/peer/config"

	ucli "github.com/urfave/cli/v2"
)

// defaultHealthAddr is where a peer's HTTP API listens by default, seen from
// inside the peer's own host or container.
var defaultHealthAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(config.DefaultAPIPort))

// healthTimeout bounds the whole request: a Docker HEALTHCHECK must not hang.
const healthTimeout = 2 * time.Second

// healthCommand asks a peer's HTTP API whether the peer is ready (GET
// /ready), or with --live only alive (GET /health). It needs no shell or
// curl, so the FROM scratch image uses it as its HEALTHCHECK.
func healthCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "health",
		Usage:     "exit 0 if the peer is ready (GET /ready: a leader heard from recently, the latest view applied, a writable data dir), 1 otherwise; a group client (roster client --health) is ready when in its group",
		UsageText: "roster health [--addr HOST:PORT] [--live]",
		Description: "Prints the peer's answer (one JSON line) when the check passes, or one line saying why not.\n" +
			"   Used as the Docker image's HEALTHCHECK. The API token, for a peer that wants it on reads\n" +
			"   (--api-token-reads), is read from $" + tokenEnv + ".",
		Flags: []ucli.Flag{
			apiAddrFlag(),
			&ucli.BoolFlag{Name: "live", Usage: "check liveness only (GET /health: the peer answers and Raft runs)"},
		},
		Action: func(c *ucli.Context) error {
			addr, err := apiAddr(c)
			if err != nil {
				return err
			}
			cl := apiClient(addr)
			path, check := "/ready", cl.Ready
			if c.Bool("live") {
				path, check = "/health", cl.Live
			}
			// A group client (roster client --health) answers for itself;
			// a peer's answer is judged by the peer's check.
			body, code, err := cl.Get(c.Context, path)
			if code == 0 {
				return ucli.Exit("roster health: "+err.Error(), ExitFailure)
			}
			if ch, ok := api.ParseClientHealth(body); ok {
				if err != nil || path == "/ready" && !ch.OK {
					return ucli.Exit("roster health: "+ch.String(), ExitFailure)
				}
				b, _ := json.Marshal(ch)
				fmt.Fprintln(c.App.Writer, string(b))
				return nil
			}
			h, err := check(c.Context)
			if err != nil {
				return ucli.Exit("roster health: "+err.Error(), ExitFailure)
			}
			b, _ := json.Marshal(h)
			fmt.Fprintln(c.App.Writer, string(b))
			return nil
		},
	}
}

// tokenHeader returns the Authorization header of $ROSTER_API_TOKEN, nil
// when it is not set: what commands that talk to peers send.
func tokenHeader() http.Header {
	t := os.Getenv(tokenEnv)
	if t == "" {
		return nil
	}
	return http.Header{"Authorization": {"Bearer " + t}}
}

// apiClient is the client of the commands that ask a running peer.
func apiClient(addr string) api.Client {
	return api.Client{Addr: addr, Timeout: healthTimeout, Token: os.Getenv(tokenEnv)}
}

// apiAddrFlag is the --addr flag of the commands that ask a running peer.
func apiAddrFlag() ucli.Flag {
	return &ucli.StringFlag{
		Name:    "addr",
		Usage:   "`HOST:PORT` of the peer's HTTP API",
		Value:   defaultHealthAddr,
		EnvVars: []string{"ROSTER_API_ADDR"},
	}
}

// apiAddr returns a checked --addr, for a command that takes no arguments.
func apiAddr(c *ucli.Context) (string, error) {
	if c.NArg() > 0 {
		return "", usageErr("%s: unexpected argument %q", c.Command.Name, c.Args().First())
	}
	addr := c.String("addr")
	if err := checkHostPort(addr); err != nil {
		return "", usageErr("%s: --addr %q: %v", c.Command.Name, addr, err)
	}
	return addr, nil
}

// checkHostPort accepts "host:port" with a numeric port in 1-65535.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want HOST:PORT")
	}
	if host == "" {
		return fmt.Errorf("missing host")
	}
	var n int
	if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n < 1 || n > 65535 || fmt.Sprint(n) != port {
		return fmt.Errorf("port %q: want 1-65535", port)
	}
	return nil
}
