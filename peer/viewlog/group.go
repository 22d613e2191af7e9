package viewlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Group log lines are what a client of a group (`roster client`) prints, one
// per group view it sees and one per event of its own life:
//
//	{client:"c1", group:"jobs", group_view: 7, members: ["c1","c2"]}
//	{client:"c1", group:"jobs", group_view: 7, message:"crashing"}
//	{client:"c1", group:"jobs", group_view: 7, message:"leaving"}
//	{client:"c1", group:"jobs", group_view: 0, message:"joining"}
//
// group_view is the group's committed index (the X-Roster-Index of that
// group state); members are the sorted client ids. Strings are JSON-quoted.

// GroupLogger writes the group lines of one client of one group. It is safe
// for concurrent use: each line is written with a single Write call under a
// lock.
type GroupLogger struct {
	mu     sync.Mutex
	w      io.Writer
	client string
	group  string
}

// NewGroup returns a GroupLogger for client in group, writing to w.
func NewGroup(w io.Writer, client, group string) *GroupLogger {
	return &GroupLogger{w: w, client: client, group: group}
}

// View prints the line of a group view: its index and its members (sorted
// client ids).
func (l *GroupLogger) View(index uint64, members []string) {
	l.write(FormatGroupView(l.client, l.group, index, members))
}

// Message prints an event line (joining, leaving, crashing) stamped with the
// last group view the client saw (0 before the first).
func (l *GroupLogger) Message(index uint64, msg string) {
	l.write(FormatGroupMessage(l.client, l.group, index, msg))
}

func (l *GroupLogger) write(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, line+"\n")
}

// FormatGroupView returns a group view line, without a newline.
func FormatGroupView(client, group string, index uint64, members []string) string {
	q := make([]string, len(members))
	for i, m := range members {
		q[i] = jsonQuote(m)
	}
	return fmt.Sprintf("{client:%s, group:%s, group_view: %d, members: [%s]}", jsonQuote(client), jsonQuote(group), index, strings.Join(q, ","))
}

// FormatGroupMessage returns a group event line, without a newline.
func FormatGroupMessage(client, group string, index uint64, msg string) string {
	return fmt.Sprintf("{client:%s, group:%s, group_view: %d, message:%s}", jsonQuote(client), jsonQuote(group), index, jsonQuote(msg))
}

// jsonQuote quotes s as a JSON string, without escaping <, > and &.
func jsonQuote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string: cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}

// GroupRecord is one parsed group log line. It is a plain value, safe to copy.
type GroupRecord struct {
	// Client and Group say whose line it is.
	Client, Group string
	// Index is group_view: the group's committed index.
	Index uint64
	// Members is the member list of a view line (non-nil, maybe empty);
	// nil for a message line.
	Members []string
	// Message is the text of a message line ("joining", "leaving",
	// "crashing"); "" for a view line.
	Message string
}

// IsView reports whether r is a group view line (rather than a message).
func (r GroupRecord) IsView() bool { return r.Members != nil }

// ParseGroup parses a group log line (surrounding spaces allowed). It wants
// client, group and group_view, and exactly one of members and message;
// unknown keys are skipped. It never panics and allocates at most in
// proportion to s; safe for concurrent use.
func ParseGroup(s string) (GroupRecord, bool) {
	var r GroupRecord
	seen, ok := parseFields(strings.TrimSpace(s), func(p *fieldParser, key string) (ok bool) {
		switch key {
		case "client":
			r.Client, ok = p.jsonString()
		case "group":
			r.Group, ok = p.jsonString()
		case "message":
			r.Message, ok = p.jsonString()
		case "group_view":
			var n int
			n, ok = p.number()
			r.Index = uint64(n)
		case "members":
			r.Members, ok = p.stringList()
		default:
			ok = p.skipValue()
		}
		return ok
	})
	if !ok || !seen["client"] || !seen["group"] || !seen["group_view"] || seen["members"] == seen["message"] {
		return GroupRecord{}, false
	}
	return r, true
}

// jsonString parses a JSON string literal.
func (p *fieldParser) jsonString() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	end := p.i + 1
	for end < len(p.s) && p.s[end] != '"' {
		if p.s[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(p.s) {
		return "", false
	}
	var v string
	if err := json.Unmarshal([]byte(p.s[p.i:end+1]), &v); err != nil {
		return "", false
	}
	p.i = end + 1
	return v, true
}

// stringList parses ["a","b"] and [] (spaces allowed).
func (p *fieldParser) stringList() ([]string, bool) {
	if !p.eat('[') {
		return nil, false
	}
	out := []string{}
	for {
		p.skipSpace()
		if p.eat(']') {
			return out, true
		}
		if len(out) > 0 {
			if !p.eat(',') {
				return nil, false
			}
			p.skipSpace()
		}
		v, ok := p.jsonString()
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
}
