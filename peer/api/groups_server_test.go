package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeGroups answers with fixed values and counts the calls that got past
// the input checks.
type fakeGroups struct {
	calls atomic.Int32
	err   error
}

func (f *fakeGroups) Join(_ context.Context, g string, r JoinRequest, _ Origin) (JoinResponse, error) {
	f.calls.Add(1)
	return JoinResponse{Group: g, Client: r.Client, Incarnation: 7, Owner: 2, Index: 7}, f.err
}
func (f *fakeGroups) Leave(_ context.Context, g string, r LeaveRequest, _ Origin) (LeaveResponse, error) {
	f.calls.Add(1)
	return LeaveResponse{Index: 8}, f.err
}
func (f *fakeGroups) Group(_ context.Context, g string, q ReadQuery, _ Origin) (GroupResponse, error) {
	f.calls.Add(1)
	return GroupResponse{Group: g, Index: 9, Members: []Member{{Client: "c1", Addr: "h:1", Incarnation: 7, Owner: 2}}}, f.err
}
func (f *fakeGroups) List(_ context.Context, q ReadQuery, _ Origin) (GroupsResponse, error) {
	f.calls.Add(1)
	return GroupsResponse{Index: 9, Groups: map[string]GroupSummary{"jobs": {Index: 9, Size: 1}}}, f.err
}
func (f *fakeGroups) Keepalive(_ context.Context, g, c string, _ Origin) (KeepaliveResponse, error) {
	f.calls.Add(1)
	return KeepaliveResponse{Client: c, Incarnation: 7, Owner: 2, Counted: true}, f.err
}
func (f *fakeGroups) Check(_ context.Context, g, c string) (CheckResponse, error) {
	f.calls.Add(1)
	return CheckResponse{Client: c, Incarnation: 7, Peer: 1, OK: true}, f.err
}

func groupsServer(t *testing.T, g Groups) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for _, r := range GroupRoutes(g) {
		mux.Handle(r.Pattern, r.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

// TestBadInput: every malformed request gets a 4xx with a one-line JSON
// reason, and never reaches the service.
func TestBadInput(t *testing.T) {
	f := &fakeGroups{}
	srv := groupsServer(t, f)
	long := strings.Repeat("x", MaxIDLen+1)
	big := `{"client":"c1","addr":"h:1","meta":{"pad":"` + strings.Repeat("x", MaxBody) + `"}}`
	cases := []struct {
		name, method, path, body string
		code                     int
		reason                   string
	}{
		{"malformed JSON", "POST", "/v1/groups/jobs/join", `{"client":`, 400, "not the JSON object"},
		{"JSON not an object", "POST", "/v1/groups/jobs/join", `[1,2]`, 400, "not the JSON object"},
		{"empty client", "POST", "/v1/groups/jobs/join", `{"client":"","addr":"h:1"}`, 400, "client is empty"},
		{"long client", "POST", "/v1/groups/jobs/join", `{"client":"` + long + `","addr":"h:1"}`, 400, "at most 128"},
		{"long group", "POST", "/v1/groups/" + long + "/join", `{"client":"c1","addr":"h:1"}`, 400, "group is 129 bytes"},
		{"control character", "POST", "/v1/groups/jobs/join", `{"client":"a\u0001b","addr":"h:1"}`, 400, "control character"},
		{"no addr", "POST", "/v1/groups/jobs/join", `{"client":"c1"}`, 400, "addr is empty"},
		{"bad addr", "POST", "/v1/groups/jobs/join", `{"client":"c1","addr":"nohost"}`, 400, "host:port"},
		{"bad port", "POST", "/v1/groups/jobs/join", `{"client":"c1","addr":"h:99999"}`, 400, "port"},
		{"https addr", "POST", "/v1/groups/jobs/join", `{"client":"c1","addr":"https://h:1/"}`, 400, "plain http://"},
		{"meta not an object", "POST", "/v1/groups/jobs/join", `{"client":"c1","addr":"h:1","meta":[1]}`, 400, "meta"},
		{"body too large", "POST", "/v1/groups/jobs/join", big, 413, "over 65536 bytes"},
		{"leave without client", "POST", "/v1/groups/jobs/leave", `{}`, 400, "client is empty"},
		{"expire without incarnation", "POST", "/v1/groups/jobs/leave", `{"client":"c1","reason":"expired"}`, 400, "incarnation"},
		{"unknown reason", "POST", "/v1/groups/jobs/leave", `{"client":"c1","reason":"bored"}`, 400, "reason"},
		{"bad index", "GET", "/v1/groups/jobs?index=-1", "", 400, "index"},
		{"bad wait", "GET", "/v1/groups/jobs?index=1&wait=soon", "", 400, "wait"},
		{"bad consistent", "GET", "/v1/groups?consistent=maybe", "", 400, "consistent"},
		{"long client in path", "PUT", "/v1/groups/jobs/members/" + long + "/keepalive", "", 400, "client is 129"},
		{"unknown endpoint", "GET", "/v1/nothing", "", 404, "no endpoint"},
		{"wrong method", "DELETE", "/v1/groups/jobs", "", 404, "no endpoint DELETE"},
	}
	for _, c := range cases {
		resp, body := do(t, c.method, srv.URL+c.path, c.body)
		var e ErrorResponse
		if resp.StatusCode != c.code || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, c.reason) ||
			strings.Count(strings.TrimSpace(body), "\n") != 0 || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: got %d %q, want %d with a one-line JSON reason containing %q", c.name, resp.StatusCode, body, c.code, c.reason)
		}
	}
	if n := f.calls.Load(); n != 0 {
		t.Fatalf("bad input reached the service %d times", n)
	}
}

func TestAnswers(t *testing.T) {
	f := &fakeGroups{}
	srv := groupsServer(t, f)
	resp, body := do(t, "POST", srv.URL+"/v1/groups/jobs/join", `{"client":"c1","addr":"http://h:1/ok","meta":{"a":1}}`)
	var jr JoinResponse
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &jr) != nil || jr.Incarnation != 7 || resp.Header.Get(IndexHeader) != "7" {
		t.Fatalf("join: %d %s (index header %q)", resp.StatusCode, body, resp.Header.Get(IndexHeader))
	}
	resp, body = do(t, "GET", srv.URL+"/v1/groups/jobs?consistent&index=3&wait=1s", "")
	if resp.StatusCode != 200 || resp.Header.Get(IndexHeader) != "9" || !strings.Contains(body, `"members":[{"client":"c1"`) {
		t.Fatalf("group: %d %s", resp.StatusCode, body)
	}
	// A service error keeps its code, reason, Retry-After and index.
	e := Errorf(http.StatusServiceUnavailable, "no leader\nsecond line")
	e.RetryAfter, e.Index = 1500*time.Millisecond, 42
	f.err = e
	resp, body = do(t, "POST", srv.URL+"/v1/groups/jobs/leave", `{"client":"c1"}`)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" || resp.Header.Get(IndexHeader) != "42" || strings.TrimSpace(body) != `{"error":"no leader"}` {
		t.Fatalf("503: %d %q headers %v", resp.StatusCode, body, resp.Header)
	}
	f.err = io.ErrUnexpectedEOF
	if resp, body = do(t, "GET", srv.URL+"/v1/groups", ""); resp.StatusCode != 500 || !strings.Contains(body, "unexpected EOF") {
		t.Fatalf("500: %d %q", resp.StatusCode, body)
	}
}

func TestReadQueryRoundTrip(t *testing.T) {
	for _, q := range []ReadQuery{{}, {Consistent: true}, {Index: 5, HasIndex: true}, {Consistent: true, Index: 7, HasIndex: true, Wait: 30 * time.Second}} {
		req := httptest.NewRequest("GET", "/v1/groups/g"+q.Encode(), nil)
		got, err := ParseReadQuery(req.URL.Query())
		if err != nil || got != q {
			t.Errorf("%+v encoded as %q parses as %+v, %v", q, q.Encode(), got, err)
		}
	}
	v := httptest.NewRequest("GET", "/v1/groups?index=1&wait=30", nil).URL.Query()
	if q, err := ParseReadQuery(v); err != nil || q.Wait != 30*time.Second {
		t.Errorf("wait=30 parses as %+v, %v; want 30 s", q, err)
	}
}

// TestClientTriesTheNextPeer: a peer that is down or answers 5xx is skipped;
// a 4xx is the answer; the peer that answered is asked first next time.
func TestClientTriesTheNextPeer(t *testing.T) {
	f := &fakeGroups{}
	good := groupsServer(t, f)
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &HTTPError{Code: 503, Message: "no quorum", RetryAfter: time.Second})
	}))
	defer unavailable.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downAddr := strings.TrimPrefix(down.URL, "http://")
	down.Close()
	c := &GroupsClient{Addrs: []string{downAddr, strings.TrimPrefix(unavailable.URL, "http://"), strings.TrimPrefix(good.URL, "http://")}, Timeout: 2 * time.Second}
	res, err := c.Join(context.Background(), "jobs", JoinRequest{Client: "c1", Addr: "h:1"})
	if err != nil || res.Incarnation != 7 {
		t.Fatalf("join through the third peer: %+v, %v", res, err)
	}
	if c.next.Load() != 2 {
		t.Fatalf("next peer %d, want the one that answered (2)", c.next.Load())
	}
	f.err = Errorf(http.StatusNotFound, "client \"c1\" is not a member")
	_, err = c.Keepalive(context.Background(), "jobs", "c1")
	if !IsNotFound(err) {
		t.Fatalf("keepalive of a non-member: %v, want a 404", err)
	}
	// Only unavailable peers: the last error says why, with Retry-After.
	c = &GroupsClient{Addrs: []string{downAddr, strings.TrimPrefix(unavailable.URL, "http://")}}
	_, err = c.Groups(context.Background(), ReadQuery{})
	var he *HTTPError
	if err == nil || !strings.Contains(err.Error(), "no quorum") || !asHTTPError(err, &he) || he.RetryAfter != time.Second {
		t.Fatalf("all peers unavailable: %v", err)
	}
}

func asHTTPError(err error, he **HTTPError) bool {
	e, ok := err.(*HTTPError)
	*he = e
	return ok
}
