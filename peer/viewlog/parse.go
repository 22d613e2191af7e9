package viewlog

import (
	"strconv"
	"strings"
)

// Kind says what a view log record reports.
type Kind int

const (
	// KindView is a view line: {peer_id:2, view_id: 3, leader: 1, memb_list: [1,2,3]}.
	KindView Kind = iota + 1
	// KindCrash is message:"crashing" (the peer is about to exit on purpose)
	// or message:"killed" (a runner killed the peer from outside and says so
	// in the log, with the peer's last view id).
	KindCrash
	// KindUnreachable is message:"peer 5 unreachable" or "peer 1 (leader) unreachable".
	KindUnreachable
	// KindMessage is any other message:"..." record.
	KindMessage
)

// String returns a short lower-case name for the kind.
func (k Kind) String() string {
	switch k {
	case KindView:
		return "view"
	case KindCrash:
		return "crash"
	case KindUnreachable:
		return "unreachable"
	case KindMessage:
		return "message"
	}
	return "unknown"
}

// Record is one parsed view log record. It is a plain value, safe to copy.
type Record struct {
	// Peer is the peer that printed the record (peer_id).
	Peer int
	// ViewID is the view the record is about (view_id): the installed view for
	// a view line, the peer's current view for a message.
	ViewID int
	// Leader is the peer that committed the view (leader).
	Leader int
	// Kind says whether this is a view, a crash, an unreachable report or another message.
	Kind Kind
	// Members is the member list of a view line, in printed order; nil otherwise.
	Members []int
	// Message is the text of message:"..." records.
	Message string
	// Target is the peer reported unreachable (KindUnreachable only).
	Target int
	// TargetLeader is true when the unreachable report says "(leader)".
	TargetLeader bool
}

// MaxNumber bounds every number in a record, so garbage cannot overflow sums or
// allocate huge tables.
const MaxNumber = 1 << 30

// Parse parses a record, "{key: value, ...}" with flexible whitespace. It wants
// peer_id, view_id and leader, and exactly one of memb_list and message;
// unknown keys are skipped. It never panics and allocates at most in
// proportion to s; safe for concurrent use.
func Parse(s string) (Record, bool) {
	var r Record
	seen, ok := parseFields(s, func(p *fieldParser, key string) (ok bool) {
		switch key {
		case "peer_id":
			r.Peer, ok = p.number()
		case "view_id":
			r.ViewID, ok = p.number()
		case "leader":
			r.Leader, ok = p.number()
		case "memb_list":
			r.Members, ok = p.list()
		case "message":
			r.Message, ok = p.quoted()
		default:
			ok = p.skipValue()
		}
		return ok
	})
	if !ok || !seen["peer_id"] || !seen["view_id"] || !seen["leader"] || seen["memb_list"] == seen["message"] {
		return Record{}, false
	}
	if seen["memb_list"] {
		r.Kind = KindView
		return r, true
	}
	r.Kind, r.Target, r.TargetLeader = classifyMessage(r.Message)
	return r, true
}

// parseFields walks a record, "{key: value, ...}" with flexible whitespace:
// for each key (lower-cased) it calls value with p at the key's value, and
// value consumes the value and reports whether it parsed. A repeated key, a
// missing ':' or ',', or a value that does not parse ends the walk with
// false. It returns the keys seen. The view lines (Parse) and the group
// lines (ParseGroup) share it.
func parseFields(s string, value func(p *fieldParser, key string) bool) (map[string]bool, bool) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, false
	}
	p := &fieldParser{s: s[1 : len(s)-1]}
	seen := map[string]bool{}
	for {
		p.skipSpace()
		if p.done() {
			return seen, true
		}
		key, ok := p.key()
		if !ok || seen[key] {
			return nil, false
		}
		seen[key] = true
		p.skipSpace()
		if !p.eat(':') {
			return nil, false
		}
		p.skipSpace()
		if !value(p, key) {
			return nil, false
		}
		p.skipSpace()
		if p.done() {
			return seen, true
		}
		if !p.eat(',') {
			return nil, false
		}
	}
}

// classifyMessage recognises "crashing", "killed", "leaving" (a graceful
// leave: a departure on purpose, judged like a crash), "peer N unreachable"
// and "peer N (leader) unreachable".
func classifyMessage(m string) (Kind, int, bool) {
	m = strings.TrimSpace(m)
	if m == Crashing || m == Killed || m == Leaving {
		return KindCrash, 0, false
	}
	f := strings.Fields(m)
	if len(f) >= 3 && f[0] == "peer" && f[len(f)-1] == "unreachable" {
		n, err := strconv.Atoi(f[1])
		if err == nil && n >= 0 && n <= MaxNumber {
			switch {
			case len(f) == 3:
				return KindUnreachable, n, false
			case len(f) == 4 && f[2] == "(leader)":
				return KindUnreachable, n, true
			}
		}
	}
	return KindMessage, 0, false
}

// fieldParser walks the inside of a record.
type fieldParser struct {
	s string
	i int
}

func (p *fieldParser) done() bool { return p.i >= len(p.s) }

func (p *fieldParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *fieldParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *fieldParser) key() (string, bool) {
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] >= 'a' && p.s[p.i] <= 'z' || p.s[p.i] >= 'A' && p.s[p.i] <= 'Z' || p.s[p.i] == '_' || p.s[p.i] >= '0' && p.s[p.i] <= '9') {
		p.i++
	}
	if p.i == start {
		return "", false
	}
	return strings.ToLower(p.s[start:p.i]), true
}

func (p *fieldParser) number() (int, bool) {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	return atoi(p.s[start:p.i])
}

// atoi parses a non-negative decimal no larger than MaxNumber.
func atoi(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > MaxNumber {
		return 0, false
	}
	return n, true
}

// list parses [1,2,3], [<1,2,3>], [<1>,<2>], [1 2 3] and [].
func (p *fieldParser) list() ([]int, bool) {
	if !p.eat('[') {
		return nil, false
	}
	end := strings.IndexByte(p.s[p.i:], ']')
	if end < 0 {
		return nil, false
	}
	body := p.s[p.i : p.i+end]
	p.i += end + 1
	items := strings.FieldsFunc(body, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '<' || r == '>'
	})
	out := make([]int, 0, len(items))
	for _, it := range items {
		n, ok := atoi(it)
		if !ok {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// quoted parses a double-quoted string; \" and \\ are unescaped.
func (p *fieldParser) quoted() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String(), true
		case '\\':
			if p.i < len(p.s) {
				b.WriteByte(p.s[p.i])
				p.i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// skipValue skips a value of an unknown key: a quoted string, a [list] or a bare token.
func (p *fieldParser) skipValue() bool {
	switch {
	case p.i < len(p.s) && p.s[p.i] == '"':
		_, ok := p.quoted()
		return ok
	case p.i < len(p.s) && p.s[p.i] == '[':
		end := strings.IndexByte(p.s[p.i:], ']')
		if end < 0 {
			return false
		}
		p.i += end + 1
		return true
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != ' ' && p.s[p.i] != '\t' {
		p.i++
	}
	return p.i > start
}
