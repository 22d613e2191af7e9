package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// GroupsClient speaks the client groups API to any of several peers: a
// request goes to the peer that answered last, and to the next one when a
// peer cannot be reached or answers 5xx (a 4xx is the answer). Set Addrs;
// the other fields have defaults. A GroupsClient is safe for concurrent use
// once built; do not copy it after first use.
type GroupsClient struct {
	// Addrs are the peers' API addresses, HOST:PORT.
	Addrs []string
	// Timeout bounds each request to one peer (default 10 s; a blocking
	// query gets its wait on top).
	Timeout time.Duration
	// HTTP is the client to use (default: a shared keep-alive client
	// without proxies).
	HTTP *http.Client
	// Header is added to every request (for example a token).
	Header http.Header
	// HTTPS makes the requests https:// (the peers serve the API with TLS
	// files); HTTP's transport must then trust the peers' certificates.
	HTTPS bool

	next atomic.Int64 // index in Addrs of the peer to ask first
}

// HTTPError is a peer's error answer.
type HTTPError struct {
	// Addr is the peer that answered.
	Addr string
	// Code is the HTTP status code.
	Code int
	// Message is the peer's one-line reason.
	Message string
	// RetryAfter is the peer's Retry-After, if any.
	RetryAfter time.Duration
	// Index is the peer's X-Roster-Index, if any.
	Index uint64
}

// Error says which peer answered what, in one line.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("peer %s: %d %s: %s", e.Addr, e.Code, http.StatusText(e.Code), e.Message)
}

// IsNotFound reports whether err is a 404 answer (an unknown group, or a
// keepalive of a client that is not a member).
func IsNotFound(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.Code == http.StatusNotFound
}

// ErrNoPeers says a GroupsClient has no addresses.
var ErrNoPeers = errors.New("no peer addresses")

var groupsTransport = &http.Transport{
	Proxy:               nil,
	DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	MaxIdleConns:        256,
	MaxIdleConnsPerHost: 64,
	IdleConnTimeout:     90 * time.Second,
}

var groupsHTTP = &http.Client{Transport: groupsTransport}

// Join asks to join group; the answer comes once the join committed.
func (c *GroupsClient) Join(ctx context.Context, group string, req JoinRequest) (JoinResponse, error) {
	var out JoinResponse
	_, err := c.call(ctx, http.MethodPost, groupPath(group)+"/join", req, 0, &out)
	return out, err
}

// Leave asks to leave group; the answer comes once the leave committed.
func (c *GroupsClient) Leave(ctx context.Context, group string, req LeaveRequest) (LeaveResponse, error) {
	var out LeaveResponse
	_, err := c.call(ctx, http.MethodPost, groupPath(group)+"/leave", req, 0, &out)
	return out, err
}

// Group reads a group. With q.HasIndex it blocks until the group's index
// passes q.Index or q.Wait passes (then it returns the group as it is).
// An unknown group is an *HTTPError with Code 404 (see IsNotFound).
func (c *GroupsClient) Group(ctx context.Context, group string, q ReadQuery) (GroupResponse, error) {
	var out GroupResponse
	_, err := c.call(ctx, http.MethodGet, groupPath(group)+q.Encode(), nil, blockFor(q), &out)
	return out, err
}

// Watch blocks until group's index passes index, or wait passes; it is Group
// with a blocking query.
func (c *GroupsClient) Watch(ctx context.Context, group string, index uint64, wait time.Duration) (GroupResponse, error) {
	return c.Group(ctx, group, ReadQuery{Index: index, HasIndex: true, Wait: wait})
}

// Groups lists the groups (see Group for q).
func (c *GroupsClient) Groups(ctx context.Context, q ReadQuery) (GroupsResponse, error) {
	var out GroupsResponse
	_, err := c.call(ctx, http.MethodGet, "/v1/groups"+q.Encode(), nil, blockFor(q), &out)
	return out, err
}

// Keepalive tells the cluster that client is alive; it counts as a
// successful check once it reaches the client's owner. A client that is
// not a member gets a 404 (see IsNotFound): it must join again.
func (c *GroupsClient) Keepalive(ctx context.Context, group, client string) (KeepaliveResponse, error) {
	var out KeepaliveResponse
	_, err := c.call(ctx, http.MethodPut, groupPath(group)+"/members/"+url.PathEscape(client)+"/keepalive", nil, 0, &out)
	return out, err
}

// Check asks the peer to check a member now, from where it is.
func (c *GroupsClient) Check(ctx context.Context, group, client string) (CheckResponse, error) {
	var out CheckResponse
	_, err := c.call(ctx, http.MethodPost, groupPath(group)+"/members/"+url.PathEscape(client)+"/check", nil, 0, &out)
	return out, err
}

func groupPath(group string) string { return "/v1/groups/" + url.PathEscape(group) }

// blockFor returns how much longer than Timeout a read may take.
func blockFor(q ReadQuery) time.Duration {
	if !q.HasIndex {
		return 0
	}
	w := q.Wait
	if w <= 0 || w > MaxWait {
		w = DefaultWait
	}
	return w + w/16
}

// call sends a request to the peers in turn, starting with the one that
// answered last, until one answers below 500. It decodes a 200 answer into
// out and returns the peer that answered.
func (c *GroupsClient) call(ctx context.Context, method, path string, in any, extra time.Duration, out any) (string, error) {
	if len(c.Addrs) == 0 {
		return "", ErrNoPeers
	}
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return "", fmt.Errorf("%s %s: %v", method, path, err)
		}
	}
	start := int(c.next.Load())
	var last error
	for i := range c.Addrs {
		if ctx.Err() != nil {
			break
		}
		k := (start + i) % len(c.Addrs)
		addr := c.Addrs[k]
		err := c.Do(ctx, addr, method, path, body, nil, extra, out)
		var he *HTTPError
		if err == nil || errors.As(err, &he) && he.Code < 500 {
			c.next.Store(int64(k))
			return addr, err
		}
		last = err
	}
	if last == nil {
		last = ctx.Err()
	}
	return "", last
}

// Do sends one request to the peer at addr: body (JSON, may be nil), the
// client's Header and header (may be nil), within Timeout+extra. A 200
// answer is decoded into out (if not nil); any other answer is an
// *HTTPError; no answer is another error naming the peer.
func (c *GroupsClient) Do(ctx context.Context, addr, method, path string, body []byte, header http.Header, extra time.Duration, out any) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+extra)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	scheme := "http://"
	if c.HTTPS {
		scheme = "https://"
	}
	req, err := http.NewRequestWithContext(ctx, method, scheme+addr+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s%s: %v", method, addr, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	hc := c.HTTP
	if hc == nil {
		hc = groupsHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%s %s%s: no answer within %s", method, addr, path, timeout+extra)
		}
		return fmt.Errorf("%s %s%s: %v", method, addr, path, unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s%s: reading the answer: %v", method, addr, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		he := &HTTPError{Addr: addr, Code: resp.StatusCode}
		var e ErrorResponse
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			he.Message = e.Error
		} else {
			he.Message = FirstLine(string(raw))
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			he.RetryAfter = time.Duration(s) * time.Second
		}
		he.Index, _ = strconv.ParseUint(resp.Header.Get(IndexHeader), 10, 64)
		return he
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s%s: bad answer: %v", method, addr, path, err)
		}
	}
	return nil
}
