package viewlog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Group log lines are printed by `roster client`, one per group view it sees
// and one per event of its life:
//
//	{client:"c1", group:"jobs", group_view: 7, members: ["c1","c2"]}
//	{client:"c1", group:"jobs", group_view: 7, message:"crashing"}
//	{client:"c1", group:"jobs", group_view: 0, message:"joining"}
//
// group_view is the group's committed index; members are sorted client ids.
// Strings are JSON-quoted.

// GroupKind says what a group log record reports.
type GroupKind int

const (
	// GroupView is a members line: a group state the client saw.
	GroupView GroupKind = iota + 1
	// GroupJoining is message:"joining": a life of the client starts.
	GroupJoining
	// GroupCrash is message:"crashing" (the client is about to exit on
	// purpose, without leaving) or message:"killed" (a runner killed it).
	GroupCrash
	// GroupLeaving is message:"leaving": a graceful leave.
	GroupLeaving
	// GroupMessage is any other message.
	GroupMessage
)

// String returns a short lower-case name for the kind.
func (k GroupKind) String() string {
	switch k {
	case GroupView:
		return "view"
	case GroupJoining:
		return "joining"
	case GroupCrash:
		return "crash"
	case GroupLeaving:
		return "leaving"
	case GroupMessage:
		return "message"
	}
	return "unknown"
}

// GroupRecord is one parsed group log record. A plain value.
type GroupRecord struct {
	// Client is the client that printed the record.
	Client string
	// Group is the group the record is about.
	Group string
	// Index is group_view: the committed index of the group state the
	// client saw (for a message, the last one it saw; 0 when none).
	Index uint64
	// Kind says whether this is a view or which event.
	Kind GroupKind
	// Members are the client ids of a view line, as printed; nil otherwise.
	Members []string
	// Message is the text of message:"..." records.
	Message string
}

// maxIndex bounds group_view, so garbage cannot overflow arithmetic.
const maxIndex = 1 << 62

// FormatGroupView returns a group members line, without a newline.
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

func jsonQuote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// ParseGroup parses a group log record. It wants client, group and
// group_view, and exactly one of members and message; unknown keys are
// skipped. It never panics and allocates at most in proportion to s; safe
// for concurrent use.
func ParseGroup(s string) (GroupRecord, bool) {
	var r GroupRecord
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return r, false
	}
	p := fieldParser{s: s[1 : len(s)-1]}
	seen := map[string]bool{}
	for {
		p.skipSpace()
		if p.done() {
			break
		}
		key, ok := p.key()
		if !ok || seen[key] {
			return r, false
		}
		seen[key] = true
		p.skipSpace()
		if !p.eat(':') {
			return r, false
		}
		p.skipSpace()
		switch key {
		case "client", "group", "message":
			v, ok := p.jsonString()
			if !ok {
				return r, false
			}
			switch key {
			case "client":
				r.Client = v
			case "group":
				r.Group = v
			default:
				r.Message = v
			}
		case "group_view":
			start := p.i
			for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
				p.i++
			}
			n, err := strconv.ParseUint(p.s[start:p.i], 10, 64)
			if err != nil || n > maxIndex {
				return r, false
			}
			r.Index = n
		case "members":
			m, ok := p.stringList()
			if !ok {
				return r, false
			}
			r.Members = m
		default:
			if !p.skipValue() {
				return r, false
			}
		}
		p.skipSpace()
		if p.done() {
			break
		}
		if !p.eat(',') {
			return r, false
		}
	}
	if !seen["client"] || !seen["group"] || !seen["group_view"] || seen["members"] == seen["message"] {
		return r, false
	}
	if seen["members"] {
		r.Kind = GroupView
		return r, true
	}
	switch strings.TrimSpace(r.Message) {
	case Joining:
		r.Kind = GroupJoining
	case Crashing, Killed:
		r.Kind = GroupCrash
	case Leaving:
		r.Kind = GroupLeaving
	default:
		r.Kind = GroupMessage
	}
	return r, true
}

// jsonString reads a JSON string literal.
func (p *fieldParser) jsonString() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	start := p.i
	p.i++
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '\\':
			p.i += 2
			continue
		case '"':
			p.i++
			var v string
			if json.Unmarshal([]byte(p.s[start:p.i]), &v) != nil {
				return "", false
			}
			return v, true
		}
		p.i++
	}
	return "", false
}

// stringList reads ["a","b"] or [].
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
