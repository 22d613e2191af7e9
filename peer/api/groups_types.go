package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The client groups API (README "Client groups"):
//
//	POST /v1/groups/{group}/join                        JoinRequest  -> JoinResponse
//	POST /v1/groups/{group}/leave                       LeaveRequest -> LeaveResponse
//	GET  /v1/groups/{group}[?consistent][&index=N&wait=30s]          -> GroupResponse
//	GET  /v1/groups[?consistent][&index=N&wait=30s]                  -> GroupsResponse
//	PUT  /v1/groups/{group}/members/{client}/keepalive               -> KeepaliveResponse
//	POST /v1/groups/{group}/members/{client}/check                   -> CheckResponse
//
// Every answer carries the committed index it reflects in IndexHeader; every
// error is a 4xx or 5xx with an ErrorResponse.

// Limits on what the groups API accepts.
const (
	// MaxIDLen bounds a group or client id, in bytes.
	MaxIDLen = 128
	// MaxAddrLen bounds a client's check address, in bytes.
	MaxAddrLen = 512
	// MaxBody bounds a request body, in bytes.
	MaxBody = 64 << 10
	// MaxWait caps the wait of a blocking query.
	MaxWait = 5 * time.Minute
	// DefaultWait is the wait of a blocking query that names an index but
	// no wait.
	DefaultWait = 5 * time.Minute
)

// HTTP headers of the groups API.
const (
	// IndexHeader carries the committed index an answer reflects: the
	// group's index for a group, the index of the last change of any group
	// for the list, the entry's index for a write.
	IndexHeader = "X-Roster-Index"
	// ForwardedHeader marks a request one peer forwards to another (a write
	// to the leader, a keepalive to a client's owner); its value is the
	// forwarding peer's id. A forwarded request is never forwarded again.
	ForwardedHeader = "X-Roster-Forwarded"
	// RequestHeader identifies a join request (at most 128 bytes): a join
	// that repeats the request id of the client's current incarnation
	// changes nothing and answers that incarnation. The peer that takes a
	// join gives it one when it has none, and keeps it when it forwards
	// the join again after losing the answer: one request takes effect
	// once. A client may send its own to make its own retries safe.
	RequestHeader = "X-Roster-Request"
)

// Reasons a LeaveRequest gives.
const (
	// ReasonLeft is a client leaving on its own (the default).
	ReasonLeft = "left"
	// ReasonExpired is a client's owner removing an incarnation that missed
	// its checks; Incarnation is required.
	ReasonExpired = "expired"
)

// JoinRequest is the body of POST /v1/groups/{group}/join.
type JoinRequest struct {
	// Client is the client's id in the group (1 to MaxIDLen bytes).
	Client string `json:"client"`
	// Addr is where the client is checked: "host:port" for a TCP connect,
	// "http://host:port/path" for a GET that must answer 2xx.
	Addr string `json:"addr"`
	// Meta is any JSON object the client wants to publish with its membership.
	Meta json.RawMessage `json:"meta,omitempty"`
}

// JoinResponse is the answer to a join, sent once the join committed.
type JoinResponse struct {
	Group  string `json:"group"`
	Client string `json:"client"`
	// Incarnation is the Raft index of the entry that admitted the client:
	// each join gets a new one, and a removal names the one it removes.
	Incarnation uint64 `json:"incarnation"`
	// Owner is the id of the peer that checks the client (under the view
	// the answering peer holds).
	Owner int `json:"owner"`
	// Index is the Raft index of the entry (equal to Incarnation).
	Index uint64 `json:"index"`
}

// LeaveRequest is the body of POST /v1/groups/{group}/leave.
type LeaveRequest struct {
	Client string `json:"client"`
	// Incarnation, if not 0, removes the client only while it is that
	// incarnation: a late leave of an old life changes nothing.
	Incarnation uint64 `json:"incarnation,omitempty"`
	// Reason is ReasonLeft (or "") or ReasonExpired.
	Reason string `json:"reason,omitempty"`
}

// LeaveResponse is the answer to a leave, sent once the leave committed
// (whether or not it removed anything: leave is idempotent).
type LeaveResponse struct {
	Index uint64 `json:"index"`
}

// Member is one client in a group.
type Member struct {
	Client      string          `json:"client"`
	Addr        string          `json:"addr"`
	Incarnation uint64          `json:"incarnation"`
	Owner       int             `json:"owner"`
	Meta        json.RawMessage `json:"meta,omitempty"`
}

// GroupResponse is the answer to GET /v1/groups/{group}.
type GroupResponse struct {
	Group string `json:"group"`
	// Index is the Raft index of the last entry that changed the group.
	Index uint64 `json:"index"`
	// Members are sorted by client id.
	Members []Member `json:"members"`

	raw []byte // the JSON encoding, when Encode made it
}

// Encode encodes g once, so that a peer answering many readers with the
// same group state does not encode it for each. Change nothing in g after.
func (g *GroupResponse) Encode() {
	c := *g
	c.raw = nil
	raw, err := json.Marshal(c)
	if err == nil {
		g.raw = append(raw, '\n')
	}
}

// Clients returns the members' client ids, in order.
func (g GroupResponse) Clients() []string {
	out := make([]string, len(g.Members))
	for i, m := range g.Members {
		out[i] = m.Client
	}
	return out
}

// GroupSummary is one group in GroupsResponse.
type GroupSummary struct {
	Index uint64 `json:"index"`
	Size  int    `json:"size"`
}

// GroupsResponse is the answer to GET /v1/groups.
type GroupsResponse struct {
	// Index is the Raft index of the last entry that changed any group.
	Index  uint64                  `json:"index"`
	Groups map[string]GroupSummary `json:"groups"`
}

// KeepaliveResponse is the answer to a keepalive of a member.
type KeepaliveResponse struct {
	Client      string `json:"client"`
	Incarnation uint64 `json:"incarnation"`
	Owner       int    `json:"owner"`
	// Counted is true when the keepalive reached the owner (it counts as a
	// successful check there).
	Counted bool `json:"counted"`
}

// CheckResponse is the answer to a check of a member from the answering
// peer (the owner asks other peers for one before removing a client).
type CheckResponse struct {
	Client      string `json:"client"`
	Incarnation uint64 `json:"incarnation"`
	// Peer is the peer that checked.
	Peer int `json:"peer"`
	// OK is true when the client answered the check.
	OK bool `json:"ok"`
	// Error says why the check failed.
	Error string `json:"error,omitempty"`
}

// ErrorResponse is the body of every error answer: one line saying what is
// wrong and where.
type ErrorResponse struct {
	Error string `json:"error"`
}

// ReadQuery are the options of a read.
type ReadQuery struct {
	// Consistent reads through the leader, linearizably.
	Consistent bool
	// Index, when HasIndex, makes the read block until the index passes it
	// (or Wait passes).
	Index    uint64
	HasIndex bool
	// Wait bounds a blocking read (0: DefaultWait; capped at MaxWait).
	Wait time.Duration
}

// Encode returns the query string of q ("" or "?...").
func (q ReadQuery) Encode() string {
	v := url.Values{}
	if q.Consistent {
		v.Set("consistent", "")
	}
	if q.HasIndex {
		v.Set("index", strconv.FormatUint(q.Index, 10))
		if q.Wait > 0 {
			v.Set("wait", q.Wait.String())
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + strings.ReplaceAll(v.Encode(), "consistent=", "consistent")
}

// ParseReadQuery reads ?consistent, ?index=N and ?wait=D (a Go duration, or
// seconds when a bare number).
func ParseReadQuery(v url.Values) (ReadQuery, error) {
	var q ReadQuery
	if _, ok := v["consistent"]; ok {
		switch c := v.Get("consistent"); c {
		case "", "true", "1":
			q.Consistent = true
		case "false", "0":
		default:
			return q, fmt.Errorf("consistent=%q: want no value, true or false", c)
		}
	}
	if s := v.Get("index"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return q, fmt.Errorf("index=%q: want a non-negative integer", s)
		}
		q.Index, q.HasIndex = n, true
	}
	if s := v.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			secs, nerr := strconv.ParseUint(s, 10, 32)
			if nerr != nil {
				return q, fmt.Errorf("wait=%q: want a duration such as 30s", s)
			}
			d = time.Duration(secs) * time.Second
		}
		if d < 0 {
			return q, fmt.Errorf("wait=%q: want a positive duration", s)
		}
		q.Wait = d
	}
	return q, nil
}

// ValidateID checks a group or client id: 1 to MaxIDLen bytes of UTF-8
// without control characters or '/'. what names the id in the error.
func ValidateID(what, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%s is empty", what)
	case len(id) > MaxIDLen:
		return fmt.Errorf("%s is %d bytes long, at most %d allowed", what, len(id), MaxIDLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%s is not valid UTF-8", what)
	case strings.ContainsRune(id, '/'):
		return fmt.Errorf("%s %q contains '/'", what, id)
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return fmt.Errorf("%s %q contains a control character", what, id)
	}
	return nil
}

// ValidateAddr checks a client's check address: "host:port", or an http://
// URL with a host.
func ValidateAddr(addr string) error {
	if addr == "" {
		return fmt.Errorf("addr is empty: want host:port or http://host:port/path")
	}
	if len(addr) > MaxAddrLen {
		return fmt.Errorf("addr is %d bytes long, at most %d allowed", len(addr), MaxAddrLen)
	}
	if strings.HasPrefix(addr, "https://") {
		return fmt.Errorf("addr %q: an HTTP check is plain http:// (the peers carry no CA roots to verify a client)", addr)
	}
	if strings.HasPrefix(addr, "http://") {
		u, err := url.Parse(addr)
		if err != nil || u.Host == "" {
			return fmt.Errorf("addr %q: not a URL with a host", addr)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Errorf("addr %q: want host:port or http://host:port/path", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("addr %q: port must be 1-65535", addr)
	}
	return nil
}

// ValidateMeta checks a join's meta: absent, null, or a JSON object.
func ValidateMeta(meta json.RawMessage) error {
	t := bytes.TrimSpace(meta)
	if len(t) == 0 || string(t) == "null" {
		return nil
	}
	if t[0] != '{' || !json.Valid(t) {
		return fmt.Errorf("meta must be a JSON object")
	}
	return nil
}

// Validate checks a join request.
func (r JoinRequest) Validate() error {
	if err := ValidateID("client", r.Client); err != nil {
		return err
	}
	if err := ValidateAddr(r.Addr); err != nil {
		return err
	}
	return ValidateMeta(r.Meta)
}

// Validate checks a leave request.
func (r LeaveRequest) Validate() error {
	if err := ValidateID("client", r.Client); err != nil {
		return err
	}
	switch r.Reason {
	case "", ReasonLeft:
	case ReasonExpired:
		if r.Incarnation == 0 {
			return fmt.Errorf("reason %q needs the incarnation to remove", r.Reason)
		}
	default:
		return fmt.Errorf("reason %q: want %q or %q", r.Reason, ReasonLeft, ReasonExpired)
	}
	return nil
}
