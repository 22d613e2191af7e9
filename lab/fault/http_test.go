package fault

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// newAPI serves inj's fault API the way a peer mounts it.
func newAPI(t *testing.T, inj *Injector) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	h := inj.Handler()
	mux.Handle("/faults", h)
	mux.Handle("/faults/", h)
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// call sends one request and returns the status and body.
func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// mustStatus sends one request and parses its 200 answer.
func mustStatus(t *testing.T, srv *httptest.Server, method, path, reqBody string) Status {
	t.Helper()
	code, body := call(t, srv, method, path, reqBody)
	if code != http.StatusOK {
		t.Fatalf("status %d, body %s; want 200", code, body)
	}
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return st
}

func TestAPIGoodRequests(t *testing.T) {
	inj := New(Options{Self: 2, Seed: 42})
	srv := newAPI(t, inj)

	st := mustStatus(t, srv, "GET", "/faults", "")
	if st.Self != 2 || st.Seed != 42 || len(st.Rules) != 0 || st.Partition != nil || st.PausedUntil != nil {
		t.Fatalf("initial status %+v", st)
	}

	body := `{"rules":[{"loss":0.1},{"peers":[1],"dir":"out","scope":"raft","block":true},
		{"peers":[3,4],"delay":"50ms","jitter":"20ms"}],"partition":[[1,2],[3,4,5]]}`
	for _, method := range []string{"PUT", "POST"} {
		st = mustStatus(t, srv, method, "/faults", body)
		if len(st.Rules) != 3 || st.Rules[1].Scope != Raft || st.Rules[0].Dir != Both || len(st.Partition) != 2 {
			t.Fatalf("%s /faults: status %+v", method, st)
		}
	}
	if !inj.blocked(3, Both, Gossip) || !inj.blocked(1, Out, Raft) || inj.blocked(1, Out, Gossip) {
		t.Fatal("the rules set through the API are not in force")
	}

	// Heal keeps the rules; partition sets one again.
	st = mustStatus(t, srv, "DELETE", "/faults/partition", "")
	if st.Partition != nil || len(st.Rules) != 3 {
		t.Fatalf("after heal: %+v", st)
	}
	if v := inj.judge(4, In, Gossip); v.delay < 30*time.Millisecond {
		t.Fatal("the delay rule set through the API is not in force")
	}
	st = mustStatus(t, srv, "POST", "/faults/partition", `{"sides":[[1],[2,3]]}`)
	if len(st.Partition) != 2 || !inj.blocked(1, In, Gossip) || inj.blocked(3, In, Gossip) {
		t.Fatalf("after partition: %+v", st)
	}

	// Pause, then end it.
	st = mustStatus(t, srv, "POST", "/faults/pause?for=10s", "")
	if st.PausedUntil == nil || time.Until(*st.PausedUntil) < 9*time.Second || !inj.blocked(3, Both, Raft) {
		t.Fatalf("after pause: %+v", st)
	}
	st = mustStatus(t, srv, "DELETE", "/faults/pause", "")
	if st.PausedUntil != nil || inj.blocked(3, Both, Raft) {
		t.Fatalf("after resume: %+v", st)
	}

	// Clear removes everything, pause included.
	inj.Pause(time.Hour)
	st = mustStatus(t, srv, "DELETE", "/faults", "")
	if len(st.Rules) != 0 || st.Partition != nil || st.PausedUntil != nil {
		t.Fatalf("after clear: %+v", st)
	}
	if _, body := call(t, srv, "GET", "/faults", ""); !strings.Contains(body, `"rules": []`) {
		t.Fatalf("cleared rules should read as [], got %s", body)
	}
}

func TestAPIRejectsBadRequests(t *testing.T) {
	inj := New(Options{Self: 1})
	inj.SetRules([]Rule{{Loss: 0.05}})
	srv := newAPI(t, inj)
	for _, c := range []struct {
		method, path, body string
		reason             string
	}{
		{"PUT", "/faults", `{"rules":[{"loss":1.5}]}`, "rules[0]: loss 1.5: want a probability between 0 and 1"},
		{"PUT", "/faults", `{"rules":[{"loss":-0.5}]}`, "loss -0.5"},
		{"PUT", "/faults", `{"rules":[{"delay":"-5ms"}]}`, "delay -5ms: must not be negative"},
		{"PUT", "/faults", `{"rules":[{"delay":"5ms","jitter":"10ms"}]}`, "jitter 10ms exceeds delay 5ms"},
		{"PUT", "/faults", `{"rules":[{"delay":"later"}]}`, `want a duration string like \"50ms\", got \"later\"`},
		{"PUT", "/faults", `{"rules":[{"delay":50}]}`, "want a duration string"},
		{"PUT", "/faults", `{"rules":[{"peers":["two"]}]}`, "bad JSON body"},
		{"PUT", "/faults", `{"rules":[{"peers":[0]}]}`, "rules[0]: peers[0]: 0 is not a peer id"},
		{"PUT", "/faults", `{"rules":[{"peers":[1.5]}]}`, "bad JSON body"},
		{"PUT", "/faults", `{"rules":[{"peer":2}]}`, `unknown field \"peer\"`},
		{"PUT", "/faults", `{"rules":[],"paused_until":"2030-01-01T00:00:00Z"}`, `unknown field \"paused_until\"`},
		{"PUT", "/faults", `{"rules":[{"dir":"up"}]}`, `dir \"up\"`},
		{"PUT", "/faults", `{"rules":[{"scope":"http"}]}`, `scope \"http\"`},
		{"PUT", "/faults", `{"partition":[[1,2],[2,3]]}`, "partition: peer 2 is on sides 1 and 2"},
		{"PUT", "/faults", `{"rules":[`, "bad JSON body"},
		{"PUT", "/faults", `not json`, "bad JSON body"},
		{"PUT", "/faults", `{"rules":[]} {"rules":[]}`, "data after the JSON object"},
		{"PUT", "/faults", ``, "empty body"},
		{"POST", "/faults", `[1,2]`, "bad JSON body"},
		{"PUT", "/faults", `{"rules":[{"loss":0.1}]}` + strings.Repeat(" ", maxBody), "body over"},
		{"POST", "/faults/pause", ``, "missing parameter for"},
		{"POST", "/faults/pause?for=soon", ``, `for=\"soon\": not a duration`},
		{"POST", "/faults/pause?for=-1s", ``, "must be positive"},
		{"POST", "/faults/pause?for=0s", ``, "must be positive"},
		{"POST", "/faults/pause?for=1s&peer=2", ``, `unknown parameter \"peer\"`},
		{"POST", "/faults/partition", `{"sides":[[1,2,3]]}`, "sides: want at least two sides, got 1"},
		{"POST", "/faults/partition", `{"sides":[[1],[]]}`, "sides: side 2 is empty"},
		{"POST", "/faults/partition", `{"sides":[[1],[-2]]}`, "-2 is not a peer id"},
		{"POST", "/faults/partition", `{"sides":"1,2|3"}`, "bad JSON body"},
		{"POST", "/faults/partition", `{"side":[[1],[2]]}`, `unknown field \"side\"`},
		{"POST", "/faults/partition", ``, "empty body"},
	} {
		code, body := call(t, srv, c.method, c.path, c.body)
		if code != http.StatusBadRequest {
			t.Errorf("%s %s %.60q: status %d, want 400 (body %s)", c.method, c.path, c.body, code, body)
			continue
		}
		var e apiError
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
			t.Errorf("%s %s %.60q: body %q is not {\"error\": reason}", c.method, c.path, c.body, body)
			continue
		}
		if want := strings.ReplaceAll(c.reason, `\"`, `"`); !strings.Contains(e.Error, want) {
			t.Errorf("%s %s %.60q: reason %q, want it to contain %q", c.method, c.path, c.body, e.Error, want)
		}
	}
	// Nothing bad got through.
	if s := inj.State(); len(s.Rules) != 1 || s.Rules[0].Loss != 0.05 || s.Partition != nil {
		t.Fatalf("bad requests changed the state: %+v", s)
	}
	if inj.Status().PausedUntil != nil {
		t.Fatal("a bad request paused the peer")
	}
	// Wrong methods and paths.
	if code, _ := call(t, srv, "PATCH", "/faults", `{}`); code != http.StatusMethodNotAllowed {
		t.Errorf("PATCH /faults: status %d, want 405", code)
	}
	if code, _ := call(t, srv, "GET", "/faults/pause", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /faults/pause: status %d, want 405", code)
	}
	if code, _ := call(t, srv, "GET", "/faults/nothing", ""); code != http.StatusNotFound {
		t.Errorf("GET /faults/nothing: status %d, want 404", code)
	}
}

func TestClient(t *testing.T) {
	inj := New(Options{Self: 3, Seed: 5})
	srv := newAPI(t, inj)
	c := Client{BaseURL: srv.URL + "/", HTTP: srv.Client()}
	ctx := context.Background()

	st, err := c.Set(ctx, State{Rules: []Rule{{Peers: []int{1}, Scope: Raft, Block: true}}})
	if err != nil || len(st.Rules) != 1 || !inj.blocked(1, Out, Raft) {
		t.Fatalf("Set: %+v, %v", st, err)
	}
	if st, err = c.Partition(ctx, [][]int{{1, 2}, {3}}); err != nil || len(st.Partition) != 2 || !inj.blocked(2, In, Gossip) {
		t.Fatalf("Partition: %+v, %v", st, err)
	}
	if st, err = c.Heal(ctx); err != nil || st.Partition != nil || len(st.Rules) != 1 {
		t.Fatalf("Heal: %+v, %v", st, err)
	}
	if st, err = c.Pause(ctx, 1500*time.Millisecond); err != nil || st.PausedUntil == nil || !inj.blocked(2, Out, Gossip) {
		t.Fatalf("Pause: %+v, %v", st, err)
	}
	if st, err = c.Resume(ctx); err != nil || st.PausedUntil != nil {
		t.Fatalf("Resume: %+v, %v", st, err)
	}
	if st, err = c.Get(ctx); err != nil || st.Self != 3 || st.Seed != 5 {
		t.Fatalf("Get: %+v, %v", st, err)
	}
	if st, err = c.Clear(ctx); err != nil || len(st.Rules) != 0 {
		t.Fatalf("Clear: %+v, %v", st, err)
	}

	// The API's reason reaches the caller.
	_, err = c.Set(ctx, State{Rules: []Rule{{Loss: 7}}})
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "loss 7: want a probability") {
		t.Fatalf("Set with loss 7: error %v, want the 400 and its reason", err)
	}
	_, err = c.Partition(ctx, [][]int{{1}})
	if err == nil || !strings.Contains(err.Error(), "at least two sides") {
		t.Fatalf("Partition with one side: error %v", err)
	}
	// A peer without --faults has no /faults: a clear 404.
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	_, err = Client{BaseURL: plain.URL}.Get(ctx)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Get on a peer without the API: error %v, want a 404", err)
	}
}
