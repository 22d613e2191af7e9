package testkit

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records a Fatalf instead of ending the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
	if len(args) > 1 {
		r.failed = args[1].(string)
	}
	panic(r)
}

// run calls f with a recorder and returns what it failed with ("" if not).
func run(t *testing.T, f func(tb testing.TB)) (failed string) {
	r := &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != any(r) {
			panic(p)
		}
		failed = r.failed
	}()
	f(r)
	return ""
}

func TestWaitForEndsWhenTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	go func() {
		time.Sleep(20 * time.Millisecond)
		n.Store(1)
	}()
	var took time.Duration
	if failed := run(t, func(tb testing.TB) {
		took = Eventually(tb, 10*time.Second, "n to be set", func() bool { return n.Load() == 1 })
	}); failed != "" {
		t.Fatalf("failed: %s", failed)
	}
	if took < 20*time.Millisecond || took > 5*time.Second {
		t.Fatalf("took %v, want from 20 ms until shortly after the condition held", took)
	}
}

func TestWaitForFailsAtTheDeadline(t *testing.T) {
	start := time.Now()
	failed := run(t, func(tb testing.TB) {
		Eventually(tb, 30*time.Millisecond, "what never happens", func() bool { return false })
	})
	if !strings.Contains(failed, "what never happens") {
		t.Fatalf("failed with %q, want the thing waited for", failed)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("failed after %v, before the deadline", d)
	}
}
