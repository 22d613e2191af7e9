// Package stats summarises latencies for the lab's reports: the checker's
// figures, the soak's totals and the bench. Its functions are pure and safe
// for concurrent use.
package stats

import (
	"slices"
	"time"
)

// Summary summarises a set of durations, in milliseconds. Quantiles are
// nearest-rank; the median of an even count is the mean of the middle two.
type Summary struct {
	N        int     `json:"n"`
	MinMs    float64 `json:"min_ms"`
	MedianMs float64 `json:"median_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
}

// Of returns the Summary of ds (the zero Summary when ds is empty). ds is
// not modified.
func Of(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	q := func(p float64) time.Duration { return s[min(n-1, int(p*float64(n)))] }
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Summary{N: n, MinMs: Ms(s[0]), MedianMs: Ms(med), P90Ms: Ms(q(0.9)), P99Ms: Ms(q(0.99)), MaxMs: Ms(s[n-1])}
}

// Ms returns d in milliseconds, to the microsecond.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
