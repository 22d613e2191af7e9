package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxAnswer bounds what a Client reads of an answer.
const maxAnswer = 1 << 20

// Client asks a peer's API. The zero value is not usable: set Addr. A
// Client is safe for concurrent use.
type Client struct {
	// Addr is the API's HOST:PORT.
	Addr string
	// Timeout bounds each request (default 2 s).
	Timeout time.Duration
	// HTTP is the client to use (default: no proxy, no keep-alive).
	HTTP *http.Client
	// Token, if set, is sent with every request as "Authorization: Bearer
	// TOKEN" (the peer's --api-token).
	Token string
}

var defaultHTTP = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// Status asks the peer for its status (GET /health). The status is
// returned with an error when the peer answers with one but is not healthy.
func (c Client) Status(ctx context.Context) (Status, error) {
	var st Status
	body, code, err := c.Get(ctx, "/health")
	if err != nil && code == 0 {
		return st, err
	}
	if jerr := json.Unmarshal(body, &st); jerr != nil || st.ID < 1 {
		if err != nil {
			return st, err
		}
		return st, fmt.Errorf("%s answered something that is not a peer status", c.Addr)
	}
	return st, err
}

// Live asks the peer whether it is alive (GET /health), Ready whether it is
// ready (GET /ready). The answer is returned whenever the peer gave one; the
// error is nil only when the check passed, and otherwise says why in one line.
func (c Client) Live(ctx context.Context) (Health, error) { return c.health(ctx, "/health") }

// Ready asks the peer whether it is ready (GET /ready); see Live.
func (c Client) Ready(ctx context.Context) (Health, error) { return c.health(ctx, "/ready") }

func (c Client) health(ctx context.Context, path string) (Health, error) {
	var h Health
	body, code, err := c.Get(ctx, path)
	if err != nil && code == 0 {
		return h, err
	}
	if jerr := json.Unmarshal(body, &h); jerr != nil || h.ID < 1 {
		if err != nil {
			return Health{}, err
		}
		return Health{}, fmt.Errorf("%s answered something that is not a peer's health", c.Addr)
	}
	if !h.OK {
		return h, fmt.Errorf("peer %s (%s): not %s: %s", h.Name, c.Addr, map[string]string{"/health": "live", "/ready": "ready"}[path], h)
	}
	return h, nil
}

// Get GETs path and returns the answer's body (at most 1 MiB) and status
// code. The error is nil only on HTTP 200; it says what went wrong in one
// line naming the URL.
func (c Client) Get(ctx context.Context, path string) ([]byte, int, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + c.Addr + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", url, err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, 0, fmt.Errorf("GET %s: no answer within %s", url, timeout)
		}
		return nil, 0, fmt.Errorf("GET %s: %v", url, unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode != http.StatusOK {
		if body := FirstLine(string(raw)); body != "" {
			return raw, resp.StatusCode, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
		}
		return raw, resp.StatusCode, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: reading the answer: %w", url, err)
	}
	return raw, resp.StatusCode, nil
}

// unwrapURLError drops the *url.Error prefix ("Get \"http://...\": "), since
// the caller already names the URL.
func unwrapURLError(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// FirstLine returns s up to its first newline, trimmed, and at most 200 bytes.
func FirstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
