package command

import (
	"fmt"
	"net"
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

// healthCommand asks a peer's HTTP API whether the peer is up. It needs no
// shell or curl, so the FROM scratch image uses it as its HEALTHCHECK.
func healthCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "health",
		Usage:     "exit 0 if the peer's HTTP API answers GET /health with 200, 1 otherwise",
		UsageText: "roster health [--addr HOST:PORT]",
		Description: "Prints the peer's answer (one JSON line) on success, or one line saying why not.\n" +
			"   Used as the Docker image's HEALTHCHECK.",
		Flags: []ucli.Flag{apiAddrFlag()},
		Action: func(c *ucli.Context) error {
			addr, err := apiAddr(c)
			if err != nil {
				return err
			}
			body, _, err := api.Client{Addr: addr, Timeout: healthTimeout}.Get(c.Context, "/health")
			if err != nil {
				return ucli.Exit("roster health: "+err.Error(), ExitFailure)
			}
			fmt.Fprintln(c.App.Writer, api.FirstLine(string(body)))
			return nil
		},
	}
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
