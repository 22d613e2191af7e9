package measure

import (
	"os"
	"strings"
	"testing"
	"time"

	"roster/lab/labtest"
)

func TestSummarize(t *testing.T) {
	s := Summarize([]time.Duration{4 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond})
	if s.N != 4 || s.MinMs != 1 || s.MedianMs != 2.5 || s.MaxMs != 4 {
		t.Fatalf("got %+v", s)
	}
	if (Summarize(nil) != Stats{}) {
		t.Fatal("empty input")
	}
}

func TestRunMeasuresOneRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real peers")
	}
	rep, err := Run(Options{Peers: 4, Runs: 1, AtOnce: []int{4}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bootstrap.N != 1 || rep.Join.N != 3 || rep.CrashToView.N != 1 || rep.LeaderCrashToView.N != 1 {
		t.Fatalf("report %+v", rep)
	}
	// Values must be real measurements: positive, and below the settle limit.
	for _, v := range []float64{rep.Join.MaxMs, rep.CrashToView.MaxMs, rep.LeaderCrashToView.MaxMs, rep.AtOnce[4]} {
		if v <= 0 || v > float64(settle.Milliseconds()) {
			t.Fatalf("implausible figure %v in %+v", v, rep)
		}
	}
}

// TestAtOnceReportsNoView: a group that forms no view in time is reported
// with what its peers held, and the next size is still tried.
func TestAtOnceReportsNoView(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real peers")
	}
	// No four or five peers share a view a nanosecond after their start.
	rep, err := Run(Options{Peers: 4, AtOnce: []int{4, 5}, AtOnceTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.AtOnce) != 0 || len(rep.AtOnceFailed) != 2 {
		t.Fatalf("at once %v, failed %v: want both sizes failed", rep.AtOnce, rep.AtOnceFailed)
	}
	for n, why := range rep.AtOnceFailed {
		if !strings.Contains(why, "no single view") || !strings.Contains(why, "the peers hold") {
			t.Fatalf("size %d: %q does not say what the peers held", n, why)
		}
	}
}

func TestProcStatReadsThisProcess(t *testing.T) {
	before, err := cpuTicks(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel has counted some (a tick is 10 ms).
	deadline := time.Now().Add(10 * time.Second)
	for x := 0; ; x++ {
		now, err := cpuTicks(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if now > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CPU time counted after 10 s of work (%d)", x)
		}
	}
	mem, err := memoryOf(os.Getpid())
	if err != nil || mem.RSS < 1000 || mem.Anon < 100 || mem.File < 100 || mem.Anon+mem.File > mem.RSS {
		t.Fatalf("memory %+v kB, %v", mem, err)
	}
	if _, err := cpuTicks(1 << 30); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}

func TestRunProcessesMeasuresOneRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real peer processes")
	}
	_, bin := labtest.BuildRoster(t)
	rep, err := RunProcesses(ProcOptions{Binary: bin, Peers: 4, Runs: 1, Gap: 200 * time.Millisecond, Idle: time.Second, IdleSizes: []int{4}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bootstrap.N != 1 || rep.Join.N != 3 || rep.CrashToView.N != 1 || rep.LeaderCrashToView.N != 1 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Startup.N != 3 || rep.Startup.MaxMs <= 0 || rep.Startup.MedianMs > rep.Join.MedianMs {
		t.Fatalf("startup %+v, join %+v", rep.Startup, rep.Join)
	}
	if rep.Startup.N != 3 || rep.Startup.MaxMs <= 0 || rep.Startup.MedianMs > rep.Join.MedianMs {
		t.Fatalf("startup %+v, join %+v", rep.Startup, rep.Join)
	}
	for _, v := range []float64{rep.Bootstrap.MaxMs, rep.Join.MaxMs, rep.CrashToView.MaxMs, rep.LeaderCrashToView.MaxMs} {
		if v <= 0 || v > float64(procCrashTimeout.Milliseconds()) {
			t.Fatalf("implausible figure %v in %+v", v, rep)
		}
	}
	for _, idle := range []IdleReport{rep.Idle, rep.IdleSizes[0]} {
		if idle.Peers != 4 || len(idle.PerPeer) != 4 || idle.Leader.RSSMB < 1 || idle.FollowersMean.RSSMB < 1 || idle.Leader.AnonMB <= 0 || idle.Leader.FileMB <= 0 || idle.LeaderID < 1 || idle.TotalCPU < 0 {
			t.Fatalf("idle report %+v", idle)
		}
	}
	if rep.IdleSizes[0].OneViewMs <= 0 {
		t.Fatalf("no time to one view: %+v", rep.IdleSizes[0])
	}
}

func TestFalseRemovals(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	c := &procCluster{killed: map[int]time.Time{3: at(50)}}
	c.views = []printed{
		{peer: 1, view: 1, members: []int{1, 2, 3}, at: at(10)},
		{peer: 2, view: 2, members: []int{1, 2}, at: at(100)}, // 3 killed at 50: a crash
		{peer: 1, view: 2, members: []int{1, 2}, at: at(90)},
		{peer: 1, view: 3, members: []int{1}, at: at(200)}, // 2 never killed
		{peer: 1, view: 5, members: []int{}, at: at(300)},  // view 4 unseen: skipped
	}
	got := c.falseRemovals()
	if len(got) != 1 || got[0] != "view 3 removed live peer 2" {
		t.Fatalf("got %q", got)
	}
}
