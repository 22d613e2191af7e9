package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
)

// defaultHealthAddr is where a peer's HTTP API listens by default, seen from
// inside the peer's own host or container.
const defaultHealthAddr = "127.0.0.1:8082"

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
			body, err := apiGet(c.Context, addr, "/health", healthTimeout)
			if err != nil {
				return ucli.Exit("roster health: "+err.Error(), ExitFailure)
			}
			fmt.Fprintln(c.App.Writer, firstLine(string(body)))
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

// apiGet GETs http://addr+path within timeout and returns the body (at
// most 1 MiB) on HTTP 200, or an error saying what went wrong.
func apiGet(ctx context.Context, addr, path string, timeout time.Duration) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + addr + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", url, err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("GET %s: no answer within %s", url, timeout)
		}
		return nil, fmt.Errorf("GET %s: %v", url, unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		if body := firstLine(string(raw)); body != "" {
			return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
		}
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %v", url, err)
	}
	return raw, nil
}

// unwrapURLError drops the *url.Error prefix ("Get \"http://...\": "), since
// the caller already names the URL.
func unwrapURLError(err error) error {
	type unwrapper interface{ Unwrap() error }
	if u, ok := err.(unwrapper); ok && u.Unwrap() != nil {
		return u.Unwrap()
	}
	return err
}

// firstLine returns s up to its first newline, trimmed, and at most 200 bytes.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
