package command

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/peer/api"
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

func TestHealthOK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"name":"one","id":1,"state":"Leader","view_id":5}` + "\n"))
	}))
	defer srv.Close()

	code, out, errOut := runHealth(t, "--addr", serverAddr(srv))
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if got, want := out, `{"name":"one","id":1,"state":"Leader","view_id":5}`+"\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}

func TestHealthEnvAddr(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	t.Setenv("ROSTER_API_ADDR", serverAddr(srv))

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
