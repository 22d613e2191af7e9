package reconcile

import (
	"errors"

	"roster/peer/fsm"
	"roster/peer/metrics"
)

// stepResult names the outcome of a step for the metrics.
func stepResult(err error) string {
	switch {
	case err == nil:
		return metrics.StepOK
	case errors.Is(err, fsm.ErrStale) || errors.Is(err, fsm.ErrNoop):
		return metrics.StepStale
	}
	return metrics.StepFailed
}
