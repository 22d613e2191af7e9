package testkit

import (
	"testing"
	"time"
)

// pollEvery is how often a wait re-checks its condition: often enough that a
// wait ends within milliseconds of the condition, seldom enough that many
// waiting tests do not load a busy machine.
const pollEvery = 5 * time.Millisecond

// WaitFor polls cond until it holds and returns how long that took. When
// within passes first, it fails t (Fatal) with explain(), evaluated then, so
// that it can show the state the test was left in. Call it from the test's
// goroutine.
func WaitFor(t testing.TB, within time.Duration, cond func() bool, explain func() string) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("after %v: %s", within, explain())
		}
		time.Sleep(pollEvery)
	}
	return time.Since(start)
}

// Eventually is WaitFor with a fixed explanation: what the test waited for.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	return WaitFor(t, within, cond, func() string { return "still waiting for " + what })
}
