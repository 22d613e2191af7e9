package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"roster/peer/fsm"
)

// fakePeer serves a status that the test can change.
type fakePeer struct{ st atomic.Value }

func (f *fakePeer) Status() Status { return f.st.Load().(Status) }

// Live is OK unless the status says Raft shut down; Ready is Live.
func (f *fakePeer) Live() Health {
	st := f.Status()
	return NewHealth(st, []Check{{Name: "raft", OK: st.State != "Shutdown", Detail: st.State}})
}
func (f *fakePeer) Ready() Health { return f.Live() }

func serve(t *testing.T, st Status) (*Server, *fakePeer) {
	t.Helper()
	p := &fakePeer{}
	p.st.Store(st)
	s, err := Listen("127.0.0.1:0", p, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	s.Handle("/extra", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("mounted\n")) }))
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		s.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve after Close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return s, p
}

func TestHealthAndView(t *testing.T) {
	view := fsm.View{ID: 3, Leader: 1, Members: []int{1, 2, 3}}
	s, p := serve(t, Status{Name: "two", ID: 2, State: "Follower", Leader: 1, View: view})
	c := Client{Addr: s.Addr().String()}

	st, err := c.Status(context.Background())
	if err != nil || st.ID != 2 || st.Leader != 1 || !st.View.Equal(view) {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	body, code, err := c.Get(context.Background(), "/view")
	var got fsm.View
	if err != nil || code != 200 || json.Unmarshal(body, &got) != nil || !got.Equal(view) {
		t.Fatalf("GET /view: %d %q %v", code, body, err)
	}
	if body, _, err := c.Get(context.Background(), "/extra"); err != nil || string(body) != "mounted\n" {
		t.Fatalf("GET /extra: %q %v", body, err)
	}

	// A peer whose Raft has shut down is unhealthy: 503, with its status.
	p.st.Store(Status{Name: "two", ID: 2, State: "Shutdown"})
	st, err = c.Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "503") || st.State != "Shutdown" {
		t.Fatalf("shut down: %+v, %v; want the status and a 503 error", st, err)
	}
}

func TestClientErrorsAreOneLine(t *testing.T) {
	s, _ := serve(t, Status{Name: "one", ID: 1, State: "Leader", Leader: 1})
	c := Client{Addr: s.Addr().String(), Timeout: time.Second}
	for _, path := range []string{"/nope", "/health/extra"} {
		_, code, err := c.Get(context.Background(), path)
		if err == nil || code != 404 || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), path) {
			t.Errorf("GET %s: %d %v, want a one-line 404 error naming the path", path, code, err)
		}
	}
	dead := Client{Addr: "127.0.0.1:1", Timeout: time.Second}
	if _, err := dead.Status(context.Background()); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("no API: %v, want a one-line error", err)
	}
}

func TestFirstLine(t *testing.T) {
	if got := FirstLine("  a\nb"); got != "a" {
		t.Errorf("FirstLine = %q", got)
	}
	if got := FirstLine(strings.Repeat("x", 300)); len(got) != 203 {
		t.Errorf("FirstLine of 300 bytes has %d", len(got))
	}
}
