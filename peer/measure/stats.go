// Package measure times a roster cluster: how long a joining peer takes to
// be in the view at every peer, how long a crash takes to leave it at every
// survivor, and how long many peers started at once take to share one
// view. It runs real peers in process (localcluster).
package measure

import (
	"slices"
	"time"
)

// Stats summarizes a set of durations, in milliseconds.
type Stats struct {
	N      int     `json:"n"`
	Min    float64 `json:"min_ms"`
	Median float64 `json:"median_ms"`
	P90    float64 `json:"p90_ms"`
	Max    float64 `json:"max_ms"`
}

// Summarize returns the Stats of ds.
func Summarize(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stats{N: len(s), Min: ms(s[0]), Median: ms(med), P90: ms(q(0.9)), Max: ms(s[len(s)-1])}
}
