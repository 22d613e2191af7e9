package groupbench

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// cpuTime reads this process's CPU time from /proc, and it grows as the
// process spins.
func TestCPUTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the process used 100 ms of CPU more: a loaded machine gives
	// the spinning goroutine only a share of a core, so the wall time it
	// takes varies; a cpuTime that does not grow fails at the deadline.
	deadline := time.Now().Add(30 * time.Second)
	for {
		for end, x := time.Now().Add(10*time.Millisecond), 0; time.Now().Before(end); x++ {
			_ = x * x
		}
		after, err := cpuTime(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if after-before >= 100*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s of spinning: the CPU time grew by %v only", after-before)
		}
	}
	if _, err := cpuTime(-1); err == nil {
		t.Error("no error for a process that does not exist")
	}
}
