package node

import (
	"strings"

	"github.com/hashicorp/go-hclog"

	"roster/peer/netguard"
)

// expectedFailures are Raft errors that only say a peer is down or cut off.
// roster reports that itself through the view log, and Raft repeats them
// many times a second, so they are logged at debug level instead of error.
var expectedFailures = []string{
	"failed to heartbeat to",
	"failed to appendEntries to",
	"failed to make requestVote RPC",
	"failed to contact",
	"failed to pipeline appendEntries",
	// A joining peer has an empty log; the leader walks back to its start.
	"failed to get previous log",
	"appendEntries rejected, sending older logs",
}

// quietLogger demotes expectedFailures to debug, and, with a rate log
// (Raft's network layer, which logs every bad connection), logs each kind
// of warning or error once a window. Safe for concurrent use, as the
// hclog.Logger it wraps.
type quietLogger struct {
	hclog.Logger
	rate *netguard.RateLog
}

func (q quietLogger) Error(msg string, args ...any) {
	if expected(msg) {
		q.Logger.Debug(msg, args...)
		return
	}
	if q.rate != nil && !q.rate.Allow(msg) {
		return
	}
	q.Logger.Error(msg, args...)
}

func (q quietLogger) Warn(msg string, args ...any) {
	if expected(msg) {
		q.Logger.Debug(msg, args...)
		return
	}
	if q.rate != nil && !q.rate.Allow(msg) {
		return
	}
	q.Logger.Warn(msg, args...)
}

func expected(msg string) bool {
	for _, p := range expectedFailures {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func (q quietLogger) Named(name string) hclog.Logger {
	return quietLogger{q.Logger.Named(name), q.rate}
}
func (q quietLogger) ResetNamed(name string) hclog.Logger {
	return quietLogger{q.Logger.ResetNamed(name), q.rate}
}
func (q quietLogger) With(args ...any) hclog.Logger {
	return quietLogger{q.Logger.With(args...), q.rate}
}
