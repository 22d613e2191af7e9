// Package viewlog prints the view log: the lines users read in
// `docker-compose logs` and the checker parses.
//
//	{peer_id:2, view_id: 3, leader: 1, memb_list: [1,2,3]}
//	{peer_id:2, view_id: 5, leader: 1, message:"peer 5 unreachable"}
package viewlog

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// Logger writes view lines for one peer. It is safe for concurrent use: each
// line is written with a single Write call under a lock.
type Logger struct {
	mu   sync.Mutex
	w    io.Writer
	self int
}

// New returns a Logger that writes the lines of peer self to w.
func New(w io.Writer, self int) *Logger {
	return &Logger{w: w, self: self}
}

// View prints the line of an installed view.
func (l *Logger) View(viewID uint64, leader int, members []int) {
	l.write(FormatView(l.self, viewID, leader, members))
}

// Message prints an event line (an unreachable peer, a crash) stamped with
// the view the peer holds.
func (l *Logger) Message(viewID uint64, leader int, msg string) {
	l.write(FormatMessage(l.self, viewID, leader, msg))
}

func (l *Logger) write(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, line+"\n")
}

// FormatView returns the view line, without a newline.
func FormatView(peer int, viewID uint64, leader int, members []int) string {
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = strconv.Itoa(m)
	}
	return fmt.Sprintf("{peer_id:%d, view_id: %d, leader: %d, memb_list: [%s]}", peer, viewID, leader, strings.Join(ids, ","))
}

// FormatMessage returns an event line, without a newline.
func FormatMessage(peer int, viewID uint64, leader int, msg string) string {
	return fmt.Sprintf("{peer_id:%d, view_id: %d, leader: %d, message:%q}", peer, viewID, leader, msg)
}

// Unreachable is the message for a peer that failure detection declared dead.
func Unreachable(peer int, isLeader bool) string {
	if isLeader {
		return fmt.Sprintf("peer %d (leader) unreachable", peer)
	}
	return fmt.Sprintf("peer %d unreachable", peer)
}

// Messages a peer prints about itself.
const (
	// Joining: the peer has started (after its -d delay) and asks to join.
	Joining = "joining"
	// Crashing: the peer is about to crash on purpose (-c, -t).
	Crashing = "crashing"
	// Leaving: the peer leaves the group gracefully (SIGTERM, SIGINT).
	Leaving = "leaving"
	// Killed is written by a runner, not a peer: it killed the peer from
	// outside at this point of the log.
	Killed = "killed"
)
