package groupbench

import (
	"context"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime reads this process's CPU time from /proc, and it grows as the
// process spins. The spin is measured in CPU time (getrusage), not wall
// time: on a loaded machine 300 ms of wall time may get no CPU at all.
func TestCPUTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	start := rusage(t)
	deadline := time.Now().Add(time.Minute)
	for x := 0; rusage(t)-start < 200*time.Millisecond; x++ {
		if time.Now().After(deadline) {
			t.Fatal("the process got under 200 ms of CPU in a minute")
		}
		for i := 0; i < 1_000_000; i++ {
			x += i * i
		}
	}
	after, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 100*time.Millisecond {
		t.Errorf("200 ms of spinning (getrusage) read as %v of CPU in /proc", after-before)
	}
	if _, err := cpuTime(-1); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

// rusage is the CPU time (user + system) this process used so far.
func rusage(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// connectFloor makes its checks to a listener and reads its thread's CPU.
func TestConnectFloor(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	p, err := newCheckPool(1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	f, err := connectFloor(context.Background(), p.addr(), 500, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if f.total < 0 || f.total != f.user+f.system {
		t.Fatalf("floor %+v", f)
	}
}
