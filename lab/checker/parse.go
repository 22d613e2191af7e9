package checker

import (
	"roster/peer/viewlog"

	"strings"
	"time"
)

// Kind says what a view log record reports (see viewlog.Kind).
type Kind = viewlog.Kind

// The kinds of records.
const (
	KindView        = viewlog.KindView
	KindCrash       = viewlog.KindCrash
	KindUnreachable = viewlog.KindUnreachable
	KindMessage     = viewlog.KindMessage
)

// Record is one parsed view log record (see viewlog.Record).
type Record = viewlog.Record

// Line is one parsed log line: an optional "name | " prefix as docker compose
// and the lab runner print it, an optional RFC 3339 timestamp, and the view log
// record when the rest of the line is one. `docker service logs` lines
// ("[TIMESTAMP ]service.1.taskid@node | line") are read too: the timestamp
// may come before the name, and the "@node" is dropped from the name.
type Line struct {
	// Name is the container or runner name before " | " ("" when absent).
	Name string
	// Time is the line's timestamp (zero when absent).
	Time time.Time
	// Rec is the view log record, nil when the line is not one.
	Rec *Record
	// Group is the group log record, nil when the line is not one.
	Group *viewlog.GroupRecord
}

// ParseLine parses one log line. It never fails: a line that is not a view log
// record returns a Line with a nil Rec (and a group log record fills Group) (its Name and Time are still filled when
// present, so a container's diagnostics show when it started). Surrounding
// whitespace, a trailing CR and ANSI colour codes are ignored. It is safe for
// concurrent use.
func ParseLine(s string) Line {
	s = stripANSI(s)
	var ln Line
	rest := s
	if name, after, ok := splitPrefix(s); ok {
		ln.Name, rest = name, after
	} else if t, after, ok := splitTime(strings.TrimSpace(s)); ok {
		// docker service logs --timestamps: "TIME task@node | line".
		if name, after, ok := splitPrefix(after); ok {
			ln.Time, ln.Name, rest = t, name, after
		}
	}
	rest = strings.TrimSpace(rest)
	// A time before the name (docker service logs) is the line's; one after
	// the name is read here, and a second one is part of the text.
	if ln.Time.IsZero() {
		if t, after, ok := splitTime(rest); ok {
			ln.Time, rest = t, strings.TrimSpace(after)
		}
	}
	if rec, ok := viewlog.Parse(rest); ok {
		ln.Rec = &rec
	} else if g, ok := viewlog.ParseGroup(rest); ok {
		ln.Group = &g
	}
	return ln
}

// splitPrefix splits "name   | rest" into its name and rest. Names are what
// docker compose prints: letters, digits, '-', '_' and '.'; a Swarm task's
// name may carry its node ("one.1.x8k2@node1"), which is dropped.
func splitPrefix(s string) (name, rest string, ok bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	start := i
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	if i == start {
		return "", "", false
	}
	name = s[start:i]
	if i < len(s) && s[i] == '@' {
		j := i + 1
		for j < len(s) && isNameByte(s[j]) {
			j++
		}
		if j == i+1 {
			return "", "", false
		}
		i = j
	}
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i >= len(s) || s[i] != '|' {
		return "", "", false
	}
	return name, s[i+1:], true
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// splitTime takes an RFC 3339 timestamp (any fraction of a second) off the
// front of s.
func splitTime(s string) (time.Time, string, bool) {
	end := strings.IndexAny(s, " \t")
	if end < 0 {
		end = len(s)
	}
	tok := s[:end]
	if len(tok) < len("2006-01-02T15:04:05Z") || tok[0] < '0' || tok[0] > '9' {
		return time.Time{}, s, false
	}
	t, err := time.Parse(time.RFC3339Nano, tok)
	if err != nil {
		return time.Time{}, s, false
	}
	return t, s[end:], true
}

// stripANSI removes terminal escape sequences (ESC [ ... final byte, or a
// lone ESC) and a trailing CR. A sequence that sat between two non-blank
// bytes leaves one space behind: it separates what it separated, so
// "0\x1b0|" does not become the container name "00", nor "1\x1b[m2" the
// number 12.
func stripANSI(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if strings.IndexByte(s, 0x1b) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != 0x1b {
			b.WriteByte(s[i])
			continue
		}
		j := i + 1 // the first byte after the sequence
		if j < len(s) && s[j] == '[' {
			j++
			for j < len(s) && !(s[j] >= 0x40 && s[j] <= 0x7e) {
				j++
			}
			if j < len(s) {
				j++ // the final byte
			}
		}
		if out := b.String(); out != "" && !isBlank(out[len(out)-1]) && j < len(s) && !isBlank(s[j]) && s[j] != 0x1b {
			b.WriteByte(' ')
		}
		i = j - 1
	}
	return b.String()
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }
