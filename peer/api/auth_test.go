package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"roster/peer/fsm"
)

// fixedPeer answers with fixed health.
type fixedPeer struct{ live, ready bool }

func (p fixedPeer) Status() Status {
	return Status{Name: "two", ID: 2, State: "Follower", Leader: 1, View: fsm.View{ID: 3, Leader: 1, Members: []int{1, 2}}}
}
func (p fixedPeer) Live() Health {
	return NewHealth(p.Status(), []Check{{Name: "raft", OK: p.live, Detail: "follower"}})
}
func (p fixedPeer) Ready() Health {
	return NewHealth(p.Status(), []Check{{Name: "raft", OK: true, Detail: "follower"}, {Name: "leader", OK: p.ready, Detail: "no leader known"}})
}

func serveFixed(t *testing.T, p Peer, o Limits) string {
	t.Helper()
	s, err := Listen("127.0.0.1:0", p, o)
	if err != nil {
		t.Fatal(err)
	}
	s.Handle("/faults", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"done":true}`) }))
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s.Addr().String()
}

func send(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthAndReady(t *testing.T) {
	addr := serveFixed(t, fixedPeer{live: true, ready: false}, Limits{})
	code, body := send(t, "GET", "http://"+addr+"/health", "")
	if code != 200 || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("/health: %d %s", code, body)
	}
	code, body = send(t, "GET", "http://"+addr+"/ready", "")
	var h Health
	if code != 503 || json.Unmarshal([]byte(body), &h) != nil || h.OK || h.ID != 2 || h.View.ID != 3 {
		t.Fatalf("/ready: %d %s", code, body)
	}
	if r := h.Reasons(); len(r) != 1 || r[0] != "leader: no leader known" {
		t.Fatalf("reasons %q", r)
	}
	// The client reads both, and its error says why not ready in one line.
	c := Client{Addr: addr}
	if _, err := c.Live(context.Background()); err != nil {
		t.Fatalf("Live: %v", err)
	}
	h, err := c.Ready(context.Background())
	if err == nil || h.ID != 2 || !strings.Contains(err.Error(), "not ready: leader: no leader known") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Ready: %+v, %v", h, err)
	}
	// Status still reads /health (roster view, the nemesis).
	if st, err := c.Status(context.Background()); err != nil || st.Name != "two" || st.View.ID != 3 {
		t.Fatalf("Status: %+v, %v", st, err)
	}
}

const token = "0123456789abcdef-lab"

func TestTokenGuardsWrites(t *testing.T) {
	addr := serveFixed(t, fixedPeer{live: true, ready: true}, Limits{Token: token})
	base := "http://" + addr
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		if code, body := send(t, m, base+"/faults", ""); code != http.StatusUnauthorized || !strings.Contains(body, "needs the API token") {
			t.Errorf("%s /faults without a token: %d %s", m, code, body)
		}
		if code, body := send(t, m, base+"/faults", "wrong-token-0123456789"); code != http.StatusUnauthorized || !strings.Contains(body, "wrong API token") {
			t.Errorf("%s /faults with a wrong token: %d %s", m, code, body)
		}
		if code, body := send(t, m, base+"/faults", token); code != 200 {
			t.Errorf("%s /faults with the token: %d %s", m, code, body)
		}
	}
	// An unknown path is refused before the mux says 404: no probing.
	if code, _ := send(t, "POST", base+"/nothing", ""); code != http.StatusUnauthorized {
		t.Errorf("POST /nothing without a token: %d", code)
	}
	// A token with another scheme, or a prefix of the token, is refused.
	req, _ := http.NewRequest("POST", base+"/faults", nil)
	req.Header.Set("Authorization", "Basic "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic scheme: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if code, _ := send(t, "POST", base+"/faults", token[:len(token)-1]); code != http.StatusUnauthorized {
		t.Errorf("a prefix of the token: %d", code)
	}
	// Reads stay open.
	for _, p := range []string{"/health", "/ready", "/view", "/faults"} {
		if code, body := send(t, "GET", base+p, ""); code != 200 {
			t.Errorf("GET %s without a token: %d %s", p, code, body)
		}
	}
}

func TestTokenReads(t *testing.T) {
	addr := serveFixed(t, fixedPeer{live: true, ready: true}, Limits{Token: token, TokenReads: true})
	base := "http://" + addr
	for _, p := range []string{"/health", "/ready", "/view", "/faults"} {
		if code, _ := send(t, "GET", base+p, ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d, want 401", p, code)
		}
		if code, body := send(t, "GET", base+p, token); code != 200 {
			t.Errorf("GET %s with the token: %d %s", p, code, body)
		}
	}
	c := Client{Addr: addr, Token: token}
	if _, err := c.Ready(context.Background()); err != nil {
		t.Fatalf("client with the token: %v", err)
	}
	if _, err := (Client{Addr: addr}).Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("client without the token: %v", err)
	}
}
