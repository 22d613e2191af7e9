package api

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBounds: an oversized header is refused, a body past the limit cannot
// be read whole, and one address cannot hold more than connsPerIP
// connections.
func TestBounds(t *testing.T) {
	s, _ := serve(t, Status{Name: "one", ID: 1, State: "Leader"})
	var bodyErr error
	got := make(chan struct{}, 1)
	s.Handle("POST /sink", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, bodyErr = io.ReadAll(r.Body)
		got <- struct{}{}
	}))
	addr := s.Addr().String()

	var conns []net.Conn
	for range connsPerIP + 4 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	refused := 0
	for _, c := range conns {
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"))
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			refused++
		}
	}
	if refused != 4 {
		t.Errorf("%d of %d connections refused, want 4", refused, len(conns))
	}
	for _, c := range conns {
		c.Close()
	}
	// The server releases the places as it sees the closes.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if resp, err := noKeepAlive.Get("http://" + addr + "/health"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection places were never released")
		}
		time.Sleep(20 * time.Millisecond)
	}

	req, _ := http.NewRequest("GET", "http://"+addr+"/health", nil)
	req.Header.Set("X-Big", strings.Repeat("x", 2*maxHeaderBytes))
	if resp, err := noKeepAlive.Do(req); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized header: %v %v, want 431", resp, err)
	}

	resp, err := noKeepAlive.Post("http://"+addr+"/sink", "text/plain", strings.NewReader(strings.Repeat("x", 2*maxBodyBytes)))
	if err == nil {
		resp.Body.Close()
	}
	<-got
	if bodyErr == nil {
		t.Error("a body over the limit was read whole")
	}

}

var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
