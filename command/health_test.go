package command

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"roster/peer/api"
	"roster/peer/fsm"
	"roster/peer/groupclient"
	"roster/peer/viewlog"
)

// runHealth runs "roster health args..." and returns the exit status, stdout and stderr.
func runHealth(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(New(&stdout, &stderr), append([]string{"roster", "health"}, args...), &stderr)
	return code, stdout.String(), stderr.String()
}

func serverAddr(srv *httptest.Server) string {
	return strings.TrimPrefix(srv.URL, "http://")
}

// fakePeer is a peer whose liveness and readiness a test sets.
type fakePeer struct{ live, ready bool }

func (p fakePeer) Status() api.Status {
	return api.Status{Name: "one", ID: 1, State: "Follower", View: fsm.View{ID: 5, Leader: 1, Members: []int{1, 2}}}
}
func (p fakePeer) Live() api.Health {
	return api.NewHealth(p.Status(), []api.Check{{Name: "raft", OK: p.live, Detail: "follower"}})
}
func (p fakePeer) Ready() api.Health {
	return api.NewHealth(p.Status(), []api.Check{{Name: "raft", OK: p.live, Detail: "follower"}, {Name: "leader", OK: p.ready, Detail: "no leader known"}})
}

// servePeer serves a peer's real API for p and returns its address.
func servePeer(t *testing.T, p api.Peer, o api.Limits) string {
	t.Helper()
	s, err := api.Listen("127.0.0.1:0", p, o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s.Addr().String()
}

func TestHealthReady(t *testing.T) {
	addr := servePeer(t, fakePeer{live: true, ready: true}, api.Limits{})
	code, out, errOut := runHealth(t, "--addr", addr)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var h api.Health
	if strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &h) != nil || !h.OK || h.Name != "one" || len(h.Checks) != 2 {
		t.Errorf("stdout %q, want the peer's readiness as one JSON line", out)
	}
}

func TestHealthNotReady(t *testing.T) {
	addr := servePeer(t, fakePeer{live: true, ready: false}, api.Limits{})
	code, out, errOut := runHealth(t, "--addr", addr)
	if code != ExitFailure || out != "" {
		t.Fatalf("exit %d, stdout %q; want %d and nothing", code, out, ExitFailure)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "not ready: leader: no leader known") {
		t.Errorf("stderr %q: want one line with the reason", errOut)
	}
	// --live asks only whether the peer is alive: it is.
	if code, out, errOut := runHealth(t, "--addr", addr, "--live"); code != ExitOK || !strings.Contains(out, `"ok":true`) {
		t.Errorf("--live: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestHealthNotLive(t *testing.T) {
	addr := servePeer(t, fakePeer{live: false}, api.Limits{})
	code, _, errOut := runHealth(t, "--addr", addr, "--live")
	if code != ExitFailure || !strings.Contains(errOut, "not live: raft: follower") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestHealthToken(t *testing.T) {
	addr := servePeer(t, fakePeer{live: true, ready: true}, api.Limits{Token: "0123456789abcdef", TokenReads: true})
	t.Setenv(tokenEnv, "")
	if code, _, errOut := runHealth(t, "--addr", addr); code != ExitFailure || !strings.Contains(errOut, "401") {
		t.Errorf("without the token: exit %d, stderr %q", code, errOut)
	}
	t.Setenv(tokenEnv, "0123456789abcdef")
	if code, _, errOut := runHealth(t, "--addr", addr); code != ExitOK {
		t.Errorf("with the token: exit %d, stderr %q", code, errOut)
	}
}

func TestHealthEnvAddr(t *testing.T) {
	t.Setenv("ROSTER_API_ADDR", servePeer(t, fakePeer{live: true, ready: true}, api.Limits{}))
	if code, _, errOut := runHealth(t); code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestHealthNot200(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "raft not ready\nsecond line", http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	code, out, errOut := runHealth(t, "--addr", serverAddr(srv))
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d", code, ExitFailure)
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing", out)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "503") || !strings.Contains(errOut, "raft not ready") {
		t.Errorf("stderr %q: want one line naming the status and the answer", errOut)
	}
}

func TestHealthRefused(t *testing.T) {
	// A port that was just free: nothing listens on it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	code, _, errOut := runHealth(t, "--addr", addr)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d", code, ExitFailure)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, addr) {
		t.Errorf("stderr %q: want one line naming %s", errOut, addr)
	}
}

func TestHealthBadAddr(t *testing.T) {
	for _, addr := range []string{"", "localhost", ":8082", "127.0.0.1:0", "127.0.0.1:99999", "127.0.0.1:http", "http://127.0.0.1:8082"} {
		code, _, errOut := runHealth(t, "--addr", addr)
		if code != ExitUsage {
			t.Errorf("--addr %q: exit %d, want %d (stderr %q)", addr, code, ExitUsage, errOut)
		}
		if strings.Count(errOut, "\n") != 1 {
			t.Errorf("--addr %q: stderr %q, want one line", addr, errOut)
		}
	}
}

func TestHealthTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	start := time.Now()
	_, _, err := api.Client{Addr: serverAddr(srv), Timeout: 200 * time.Millisecond}.Get(context.Background(), "/health")
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Fatalf("err %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s, want about 200ms", d)
	}
}

// TestHealthOfAClient checks roster health against a group client's
// health address (roster client --health): not ready before it joined,
// ready once in the group, not ready once a view drops it; live throughout.
func TestHealthOfAClient(t *testing.T) {
	var dropped atomic.Bool
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/v1/groups/jobs/join":
			w.Write([]byte(`{"group":"jobs","client":"c1","incarnation":5,"owner":1,"index":5}`))
		case r.Method == "GET" && r.URL.Path == "/v1/groups/jobs":
			// Index 5 holds c1; index 6, once the test drops it, does not.
			for r.URL.Query().Get("index") != "4" && !dropped.Load() {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
			if dropped.Load() {
				w.Write([]byte(`{"group":"jobs","index":6,"members":[{"client":"c2","addr":"h:2","incarnation":6,"owner":1}]}`))
				return
			}
			w.Write([]byte(`{"group":"jobs","index":5,"members":[{"client":"c1","addr":"h:1","incarnation":5,"owner":1}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer peer.Close()
	m := groupclient.New(groupclient.Config{
		Group: "jobs", Client: "c1", Addr: "127.0.0.1:1",
		Peers: &api.GroupsClient{Addrs: []string{serverAddr(peer)}},
		Log:   viewlog.NewGroup(io.Discard, "c1", "jobs"),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go groupclient.ServeHealth(ln, m)
	addr := ln.Addr().String()

	if code, _, errOut := runHealth(t, "--addr", addr); code != ExitFailure || !strings.Contains(errOut, "not in group jobs yet") {
		t.Fatalf("before the join: exit %d, stderr %q; want 1 and why", code, errOut)
	}
	if code, out, _ := runHealth(t, "--addr", addr, "--live"); code != ExitOK || !strings.Contains(out, `"client":"c1"`) {
		t.Fatalf("--live before the join: exit %d, stdout %q; want 0", code, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	defer func() {
		cancel()
		peer.CloseClientConnections()
		<-done
	}()
	waitHealth := func(want int, what string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, out, errOut := runHealth(t, "--addr", addr)
			if code == want {
				return out + errOut
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: exit %d, stdout %q, stderr %q; want exit %d", what, code, out, errOut, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if out := waitHealth(ExitOK, "joined"); !strings.Contains(out, `"member":true`) {
		t.Errorf("joined: %q, want the client's health", out)
	}
	dropped.Store(true)
	if out := waitHealth(ExitFailure, "dropped"); !strings.Contains(out, "dropped from group jobs") {
		t.Errorf("dropped: %q, want why", out)
	}
}
