package attack

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"roster/lab/labtest"
)

// TestProbesAgainstRealPeers runs a subset of the suite against the real
// binary, open and encrypted: every asserted probe must be withstood
// (peers alive, RSS under the bound, no forged view, the checker's
// agreement and order over every view line).
func TestProbesAgainstRealPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five peers per probe (about 40 s)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("needs loopback blocks and /proc")
	}
	_, bin := labtest.BuildRoster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var progress strings.Builder
	rep, err := Run(ctx, Options{
		Bin:      bin,
		Modes:    []string{Open, Encrypted},
		Probes:   []string{"push-pull-header", "forged-append", "forged-append-peer-ip", "timeout-now", "lzw-bomb", "garbage"},
		Dir:      t.TempDir(),
		Progress: &progress,
	})
	if err != nil {
		t.Fatalf("suite did not run: %v\n%s", err, progress.String())
	}
	var table strings.Builder
	WriteTable(&table, rep)
	if !rep.Pass {
		t.Fatalf("a probe got through:\n%s", table.String())
	}
	asserted := map[string]int{}
	for _, r := range rep.Results {
		if r.Asserted {
			asserted[r.Mode]++
		}
		if r.Mode == Encrypted && !r.Asserted {
			t.Errorf("%s is not asserted with a key:\n%s", r.Probe, table.String())
		}
	}
	// Open: forged-append-peer-ip is not held against an open cluster.
	if asserted[Open] != 5 || asserted[Encrypted] != 6 {
		t.Errorf("asserted probes %v, want open 5, encrypted 6:\n%s", asserted, table.String())
	}
}
