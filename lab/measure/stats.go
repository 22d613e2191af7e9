package measure

import (
	"time"

	"roster/lab/stats"
)

// Stats summarizes a set of durations, in milliseconds.
type Stats = stats.Summary

// Summarize returns the Stats of ds.
func Summarize(ds []time.Duration) Stats { return stats.Of(ds) }
