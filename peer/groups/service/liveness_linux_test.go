//go:build linux

package service

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// loopbackSocket makes a TCP socket listening on a loopback port with
// backlog, with bare system calls, and returns it and the port's address.
// The caller closes it.
func loopbackSocket(t testing.TB, backlog int) (int, string) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, backlog); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	return fd, fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// rawListener listens on a loopback port and accepts and closes every
// connection with bare system calls (no allocation: the tests below count
// the process's allocations). It returns the port's address.
func rawListener(t testing.TB) string {
	fd, addr := loopbackSocket(t, 4096)
	go func() {
		for {
			c, _, errno := syscall.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), 0, 0, syscall.SOCK_CLOEXEC, 0, 0)
			if errno == syscall.EINTR || errno == syscall.ECONNABORTED {
				continue
			}
			if errno != 0 {
				return
			}
			syscall.Close(int(c))
		}
	}()
	t.Cleanup(func() {
		syscall.Shutdown(fd, syscall.SHUT_RDWR)
		syscall.Close(fd)
	})
	return addr
}

// ownerOf returns a liveness (not running) that owns n clients at addr,
// checked every interval, and the time its wheel starts at.
func ownerOf(t testing.TB, n int, addr string, interval time.Duration) (*liveness, time.Time) {
	s := &Service{cfg: Config{Interval: interval, Misses: 3}, log: hclog.NewNullLogger()}
	l := newLiveness(s)
	tg, ok := parseTarget(addr)
	if !ok {
		t.Fatalf("%s not parsed", addr)
	}
	for i := range n {
		tr := &tracked{key: clientKey{"g", fmt.Sprint(i)}, addr: addr, inc: 1, tg: tg, fast: true, pos: -1}
		l.clients[tr.key] = tr
		l.wheel.add(tr)
	}
	return l, l.wheel.start
}

// An owner's routine checks allocate nothing: a turn of the wheel that
// starts and collects raw connects, and records their verdicts, once its
// scratch slices have grown.
func TestTurnAllocatesNothing(t *testing.T) {
	addr := rawListener(t)
	l, now := ownerOf(t, 2000, addr, time.Second)
	defer l.conn.closeAll()
	ctx := context.Background()
	tick := l.wheel.Tick()
	for range 2 * len(l.wheel.slots) { // two periods: every slice grown
		now = now.Add(tick)
		l.turn(ctx, now)
	}
	allocs := testing.AllocsPerRun(len(l.wheel.slots), func() {
		now = now.Add(tick)
		l.turn(ctx, now)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations a turn, want none", allocs)
	}
	for _, tr := range l.clients {
		if tr.misses != 0 && !tr.busy {
			t.Fatalf("client %s missed %d checks of a listening port", tr.key.client, tr.misses)
		}
	}
}

// BenchmarkOwnerChecks measures an owner's cost per routine check (a raw
// connect to a loopback listener, both ends of the handshake included, as
// the kernel charges them on loopback): each iteration is one tick of an
// owner of 10,000 clients every 5 s, 40 checks.
func BenchmarkOwnerChecks(b *testing.B) {
	addr := rawListener(b)
	l, now := ownerOf(b, 10000, addr, 5*time.Second)
	defer l.conn.closeAll()
	ctx := context.Background()
	tick := l.wheel.Tick()
	b.ReportAllocs()
	// The thread's own CPU time: what the owner pays, without the
	// listener's accept and close (the client's side, another thread).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var r0, r1 syscall.Rusage
	syscall.Getrusage(unix.RUSAGE_THREAD, &r0)
	for b.Loop() {
		now = now.Add(tick)
		l.turn(ctx, now)
	}
	syscall.Getrusage(unix.RUSAGE_THREAD, &r1)
	checks := float64(b.N) * 40
	b.ReportMetric(float64(r1.Utime.Nano()-r0.Utime.Nano())/checks, "user-ns/check")
	b.ReportMetric(float64(r1.Stime.Nano()-r0.Stime.Nano())/checks, "sys-ns/check")
}

// Clients due while maxConnects connects are pending are skipped for the
// turn, neither a success nor a miss: an owner short of sockets fails no
// client for it.
func TestTurnBoundsConnectsInFlight(t *testing.T) {
	addr := stalledAddr(t) // connects to it stay in progress
	l, now := ownerOf(t, 40, addr, time.Minute)
	defer l.conn.closeAll()
	l.maxConnects = 8
	for range len(l.wheel.slots) / 2 { // half a period: ~20 due
		now = now.Add(l.wheel.Tick())
		l.turn(context.Background(), now)
	}
	switch p := l.conn.pending(); {
	case p == 0:
		t.Skip("every connect ended: this kernel does not drop SYNs to a full backlog")
	case p > 8:
		t.Fatalf("%d connects pending, want at most 8", p)
	}
	busy := 0
	for _, tr := range l.clients {
		if tr.busy {
			busy++
		}
		if tr.misses != 0 {
			t.Fatalf("client %s has %d misses; skipped checks must not count", tr.key.client, tr.misses)
		}
	}
	if busy != l.conn.pending() {
		t.Fatalf("%d clients busy, %d connects pending", busy, l.conn.pending())
	}
}
