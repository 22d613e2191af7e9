package netguard

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"roster/internal/testkit"
)

func TestConnLimiter(t *testing.T) {
	peer := net.ParseIP("10.0.0.1")
	l := &ConnLimiter{PerIP: 2, Total: 3, Known: func(ip net.IP) bool { return ip.Equal(peer) }}
	var releases []func()
	acquire := func(ip string) bool {
		r, ok := l.Acquire(net.ParseIP(ip))
		if ok {
			releases = append(releases, r)
		}
		return ok
	}
	if !acquire("10.0.0.9") || !acquire("10.0.0.9") || acquire("10.0.0.9") {
		t.Fatal("per-IP cap not 2")
	}
	if !acquire("10.0.0.8") || acquire("10.0.0.7") {
		t.Fatal("total cap of strangers not 3")
	}
	if !acquire("10.0.0.1") || !acquire("10.0.0.1") {
		t.Fatal("a known peer was counted against the strangers' total")
	}
	releases[0]()
	releases[0]() // twice is once
	if !acquire("10.0.0.7") || acquire("10.0.0.6") {
		t.Fatal("release did not free exactly one place")
	}
}

func TestRateLog(t *testing.T) {
	var buf testkit.SyncBuffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Warn})
	r := NewRateLog(log)
	r.window = 100 * time.Millisecond
	r.summary = func(kind string, n int) { log.Warn(kind, "more", n) }
	for range 1000 {
		r.Warn("bad packet", "from", "x")
	}
	r.Warn("other kind")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "more=999") {
		if time.Now().After(deadline) {
			t.Fatalf("no summary line:\n%s", buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Close()
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Errorf("%d lines for 1001 warnings, want 3:\n%s", n, buf.String())
	}
}

func TestLineKind(t *testing.T) {
	a := LineKind("[ERR] memberlist: Decrypt packet failed: cipher: message authentication failed from=127.0.0.1:5\n")
	b := LineKind("[ERR] memberlist: Decrypt packet failed: other details from=127.0.0.2:6")
	if a != b || a != "[ERR] memberlist: Decrypt packet failed" {
		t.Errorf("kinds %q and %q", a, b)
	}
}
