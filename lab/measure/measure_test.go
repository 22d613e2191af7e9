package measure

import (
	"testing"
	"time"
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
