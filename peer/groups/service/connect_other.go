//go:build !linux

package service

import "time"

// connectCheck has no fast path here: the caller dials (see connect_linux.go).
func connectCheck(string, time.Time) (handled bool, err error) { return false, nil }

// fastConnect reports whether this platform has connector: not here, every
// check is dialled by a worker.
const fastConnect = false

// target is unused here (see connect_linux.go).
type target struct{}

// parseTarget parses nothing here: every address is dialled.
func parseTarget(string) (target, bool) { return target{}, false }

// connector has no fast path here (see connect_linux.go).
type connector struct{}

// inFlight is one connect in progress (none here).
type inFlight struct {
	t     *tracked
	inc   uint64
	final bool
}

func (c *connector) start(target, *tracked, uint64, bool, time.Time) (done, ok bool) {
	return true, false
}
func (c *connector) collect(time.Time, func(inFlight, bool)) {}
func (c *connector) pending() int                            { return 0 }
func (c *connector) closeAll()                               {}
