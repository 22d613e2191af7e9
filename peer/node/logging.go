package node

import (
	"strings"

	"github.com/hashicorp/go-hclog"
)

// expectedFailures are Raft errors that only say a peer is down or cut off,
// or that a storage write failed. roster reports those itself (the view log,
// diskFaults), and Raft repeats them many times a second, so they are logged
// at debug level instead of error.
var expectedFailures = []string{
	"failed to heartbeat to",
	"failed to appendEntries to",
	"failed to make requestVote RPC",
	"failed to contact",
	"failed to pipeline appendEntries",
	// A joining peer has an empty log; the leader walks back to its start.
	"failed to get previous log",
	"appendEntries rejected, sending older logs",
	// Storage failures: diskFaults logs them, once a minute while they last.
	"failed to append to logs",
	"failed to commit logs",
	"failed to take snapshot",
}

// quietLogger demotes expectedFailures to debug. Safe for concurrent use,
// as the hclog.Logger it wraps.
type quietLogger struct{ hclog.Logger }

func (q quietLogger) Error(msg string, args ...any) {
	if expected(msg) {
		q.Logger.Debug(msg, args...)
		return
	}
	q.Logger.Error(msg, args...)
}

func (q quietLogger) Warn(msg string, args ...any) {
	if expected(msg) {
		q.Logger.Debug(msg, args...)
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

func (q quietLogger) Named(name string) hclog.Logger { return quietLogger{q.Logger.Named(name)} }
func (q quietLogger) ResetNamed(name string) hclog.Logger {
	return quietLogger{q.Logger.ResetNamed(name)}
}
func (q quietLogger) With(args ...any) hclog.Logger { return quietLogger{q.Logger.With(args...)} }
