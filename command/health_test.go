package command

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/peer/api"
	"roster/peer/fsm"
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
