//go:build linux

package service

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"roster/internal/testkit"
)

func TestConnectCheck(t *testing.T) {
	ln := testkit.ClosingListener(t)
	deadline := time.Now().Add(time.Second)
	if handled, err := connectCheck(ln.Addr().String(), deadline); !handled || err != nil {
		t.Fatalf("an open port: handled %v, %v", handled, err)
	}
	if handled, err := connectCheck("[::1]:1", deadline); !handled || err == nil {
		t.Fatalf("a closed IPv6 port: handled %v, %v; want an error", handled, err)
	}
	handled, err := connectCheck(closedAddr(t), deadline)
	if !handled || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("a closed port: handled %v, %v; want connection refused", handled, err)
	}
	if handled, _ := connectCheck("localhost:80", deadline); handled {
		t.Fatal("a host name was handled: the caller must dial it")
	}
	if _, err := connectCheck(ln.Addr().String(), time.Now().Add(-time.Second)); err == nil {
		t.Fatal("a passed deadline: want an error")
	}
}

// The connector reports each check's outcome, and a socket it kept after a
// check (connected, refused) checks again correctly.
func TestConnectorCollects(t *testing.T) {
	var c connector
	defer c.closeAll()
	open, closed := testkit.ClosingListener(t).Addr().String(), closedAddr(t)
	for round := range 3 {
		connectRound(t, &c, open, closed, round)
		if len(c.free[0]) == 0 {
			t.Fatal("no socket kept for the next checks")
		}
	}
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Logf("no IPv6 loopback (%v): IPv4 only", err)
		return
	}
	go func() {
		for {
			c, err := ln6.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	defer ln6.Close()
	connectRound(t, &c, ln6.Addr().String(), "[::1]:1", 0)
	if len(c.free[1]) == 0 {
		t.Fatal("no IPv6 socket kept for the next checks")
	}
}

// connectRound checks 20 clients, every fourth one (shifted by round) at a
// closed port, and waits for every outcome.
func connectRound(t *testing.T, c *connector, open, closed string, round int) {
	deadline := time.Now().Add(5 * time.Second)
	want := map[*tracked]bool{}
	got := map[*tracked]bool{}
	for i := range 20 {
		addr, ok := open, true
		if (i+round)%4 == 0 {
			addr, ok = closed, false
		}
		tg, parsed := parseTarget(addr)
		if !parsed {
			t.Fatalf("%s not parsed", addr)
		}
		tr := &tracked{addr: addr, inc: uint64(i)}
		want[tr] = ok
		if done, ok := c.start(tg, tr, tr.inc, false, deadline); done {
			got[tr] = ok
		}
	}
	testkit.Eventually(t, 5*time.Second, "every connect collected", func() bool {
		c.collect(time.Now(), func(f inFlight, ok bool) {
			if f.inc != f.t.inc {
				t.Errorf("incarnation %d reported for %d", f.inc, f.t.inc)
			}
			got[f.t] = ok
		})
		return c.pending() == 0
	})
	for tr, ok := range want {
		if g, seen := got[tr]; !seen || g != ok {
			t.Errorf("%s: reported %v (seen %v), want %v", tr.addr, g, seen, ok)
		}
	}
}

// stalledAddr returns the address (127.0.0.1:port) of a listener that never
// accepts, with a backlog of one: once it is full, further SYNs are dropped
// and connects to it stay in progress. It is closed at the test's end.
func stalledAddr(t *testing.T) string {
	t.Helper()
	fd, addr := loopbackSocket(t, 0)
	t.Cleanup(func() { syscall.Close(fd) })
	return addr
}

func TestConnectorDeadline(t *testing.T) {
	tg, ok := parseTarget(stalledAddr(t))
	if !ok {
		t.Fatal("not parsed")
	}
	var c connector
	defer c.closeAll()
	deadline := time.Now().Add(time.Hour)
	for i := range 8 {
		c.start(tg, &tracked{}, uint64(i), false, deadline)
	}
	c.collect(time.Now(), func(inFlight, bool) {})
	if c.pending() == 0 {
		t.Skip("every connect ended: this kernel does not drop SYNs to a full backlog")
	}
	left := c.pending()
	failed := 0
	c.collect(deadline, func(_ inFlight, ok bool) {
		if !ok {
			failed++
		}
	})
	if c.pending() != 0 || failed < left {
		t.Fatalf("at the deadline: %d still pending, %d failed of %d", c.pending(), failed, left)
	}
	// The sockets of the connects abandoned at their deadline check again.
	connectRound(t, &c, testkit.ClosingListener(t).Addr().String(), closedAddr(t), 0)
}
