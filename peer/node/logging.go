package node

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"roster/peer/netguard"
)

// demoted are Raft's errors and warnings that are routine in a membership
// service, where peers crash, restart, leave and are removed: roster
// reports the outcome itself through the view log, and Raft repeats some of
// them many times a second. Each is matched as the start of the message and
// logged at the level given instead; the first match wins.
var demoted = []struct {
	prefix string
	level  hclog.Level
}{
	// A peer is down or cut off.
	{"failed to heartbeat to", hclog.Debug},
	{"failed to appendEntries to", hclog.Debug},
	{"failed to make requestVote RPC", hclog.Debug},
	{"failed to contact quorum of nodes, stepping down", hclog.Info},
	{"failed to contact", hclog.Debug},
	{"failed to pipeline appendEntries", hclog.Debug},
	{"failed to start pipeline replication to", hclog.Debug},
	{"failed to send snapshot to", hclog.Debug},
	// A joining peer has an empty log; the leader walks back to its start.
	{"failed to get previous log", hclog.Debug},
	{"appendEntries rejected, sending older logs", hclog.Debug},
	// A peer waits to be added, or was removed (a non-voter, or no member).
	{"no known peers, aborting election", hclog.Debug},
	{"not part of stable configuration, aborting election", hclog.Debug},
	{"heartbeat timeout reached, not part of a stable configuration", hclog.Debug},
	{"rejecting vote request since node is not in configuration", hclog.Debug},
	{"rejecting vote request since node is not a voter", hclog.Debug},
	{"rejecting vote request since we have a leader", hclog.Debug},
	{"rejecting pre-vote request since node is not in configuration", hclog.Debug},
	{"rejecting pre-vote request since node is not a voter", hclog.Debug},
	{"rejecting pre-vote request since we have a leader", hclog.Debug},
	// Elections after a leader crashed or left, and their aftermath.
	{"heartbeat timeout reached, starting election", hclog.Info},
	{"Election timeout reached, restarting election", hclog.Info},
	{"new leader elected, stepping down", hclog.Info},
	{"peer has newer term, stopping replication", hclog.Info},
	{"rejecting vote request since our last", hclog.Info},
	{"rejecting pre-vote request since our last", hclog.Info},
	{"duplicate requestVote from", hclog.Info},
	{"previous log term mis-match", hclog.Info},
	{"clearing log suffix", hclog.Info},
}

// quietLogger logs Raft's routine complaints (demoted) at a lower level,
// and "failed to decode incoming command" at debug level when it only says
// that a connection closed (a peer crashed, or this one shuts down); with a
// rate log (Raft's network layer, which logs every bad connection), it logs
// each kind of warning or error once a window. Safe for concurrent use, as
// the hclog.Logger it wraps.
type quietLogger struct {
	hclog.Logger
	rate *netguard.RateLog
}

func (q quietLogger) Error(msg string, args ...any) { q.log(hclog.Error, msg, args) }

func (q quietLogger) Warn(msg string, args ...any) { q.log(hclog.Warn, msg, args) }

func (q quietLogger) log(level hclog.Level, msg string, args []any) {
	level = demote(level, msg, args)
	if level >= hclog.Warn && q.rate != nil && !q.rate.Allow(msg) {
		return
	}
	q.Logger.Log(level, msg, args...)
}

// demote returns the level to log msg at.
func demote(level hclog.Level, msg string, args []any) hclog.Level {
	for _, d := range demoted {
		if strings.HasPrefix(msg, d.prefix) {
			return min(level, d.level)
		}
	}
	if msg == "failed to decode incoming command" && closedConn(args) {
		return hclog.Debug
	}
	return level
}

// closedConn reports whether the "error" among hclog key/value args says a
// connection closed or the transport shut down.
func closedConn(args []any) bool {
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k != "error" {
			continue
		}
		err, _ := args[i+1].(error)
		return err != nil && (errors.Is(err, raft.ErrTransportShutdown) || errors.Is(err, io.EOF) ||
			errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
			errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
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
