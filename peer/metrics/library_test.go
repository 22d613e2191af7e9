package metrics

import (
	"testing"

	compat "github.com/hashicorp/go-metrics/compat"
	"github.com/prometheus/client_golang/prometheus"
)

// TestLibraryReceivesCompat checks the path memberlist, Raft and
// raft-boltdb report through: hashicorp/go-metrics/compat must reach the
// sink Library installed. It fails in a build with the hashicorpmetrics
// tag, where compat forwards to a package whose sink nobody set.
func TestLibraryReceivesCompat(t *testing.T) {
	lib, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	before := values(t, lib)
	compat.IncrCounter([]string{"roster", "test", "compat"}, 2)
	compat.SetGauge([]string{"roster", "test", "gauge"}, 7)
	compat.AddSample([]string{"roster", "test", "sample"}, 3)
	got := values(t, lib)
	// The sink is the process's: earlier runs of this test (-count) add up.
	want := map[string]float64{
		"roster_test_compat": before["roster_test_compat"] + 2,
		"roster_test_gauge":  7,
		"roster_test_sample": before["roster_test_sample"] + 1,
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v (go-metrics' compat package does not reach the sink)", name, got[name], v)
		}
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("no go_goroutines: the Go collector is missing")
	}
}

// values returns each single-series metric's value (a summary's count).
func values(t *testing.T, lib prometheus.Gatherer) map[string]float64 {
	t.Helper()
	fams, err := lib.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			switch {
			case m.Counter != nil:
				got[f.GetName()] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				got[f.GetName()] = m.GetGauge().GetValue()
			case m.Summary != nil:
				got[f.GetName()] = float64(m.GetSummary().GetSampleCount())
			}
		}
	}
	return got
}
