package checker

import (
	"strconv"
	"strings"
	"time"
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

// Line is one parsed log line: an optional "name | " prefix as docker compose
// and the lab runner print it, an optional RFC 3339 timestamp, and the view log
// record when the rest of the line is one.
type Line struct {
	// Name is the container or runner name before " | " ("" when absent).
	Name string
	// Time is the line's timestamp (zero when absent).
	Time time.Time
	// Rec is the view log record, nil when the line is not one.
	Rec *Record
}

// maxInt bounds every number in a record, so garbage cannot overflow sums or
// allocate huge tables.
const maxInt = 1 << 30

// ParseLine parses one log line. It never fails: a line that is not a view log
// record returns a Line with a nil Rec (its Name and Time are still filled when
// present, so a container's diagnostics show when it started). Surrounding
// whitespace, a trailing CR and ANSI colour codes are ignored. It is safe for
// concurrent use.
func ParseLine(s string) Line {
	s = stripANSI(s)
	var ln Line
	rest := s
	if name, after, ok := splitPrefix(s); ok {
		ln.Name, rest = name, after
	}
	rest = strings.TrimSpace(rest)
	if t, after, ok := splitTime(rest); ok {
		ln.Time, rest = t, strings.TrimSpace(after)
	}
	if rec, ok := parseRecord(rest); ok {
		ln.Rec = &rec
	}
	return ln
}

// splitPrefix splits "name   | rest" into its name and rest. Names are what
// docker compose prints: letters, digits, '-', '_' and '.'.
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

// parseRecord parses "{key: value, ...}" with flexible whitespace. It wants
// peer_id, view_id and leader, and exactly one of memb_list and message;
// unknown keys are skipped.
func parseRecord(s string) (Record, bool) {
	var r Record
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
		case "peer_id", "view_id", "leader":
			n, ok := p.number()
			if !ok {
				return r, false
			}
			switch key {
			case "peer_id":
				r.Peer = n
			case "view_id":
				r.ViewID = n
			default:
				r.Leader = n
			}
		case "memb_list":
			m, ok := p.list()
			if !ok {
				return r, false
			}
			r.Members = m
		case "message":
			m, ok := p.quoted()
			if !ok {
				return r, false
			}
			r.Message = m
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
	if !seen["peer_id"] || !seen["view_id"] || !seen["leader"] || seen["memb_list"] == seen["message"] {
		return r, false
	}
	if seen["memb_list"] {
		r.Kind = KindView
		return r, true
	}
	r.Kind, r.Target, r.TargetLeader = classifyMessage(r.Message)
	return r, true
}

// classifyMessage recognises "crashing", "killed", "leaving" (a graceful
// leave: a departure on purpose, judged like a crash), "peer N unreachable"
// and "peer N (leader) unreachable".
func classifyMessage(m string) (Kind, int, bool) {
	m = strings.TrimSpace(m)
	if m == "crashing" || m == "killed" || m == "leaving" {
		return KindCrash, 0, false
	}
	f := strings.Fields(m)
	if len(f) >= 3 && f[0] == "peer" && f[len(f)-1] == "unreachable" {
		n, err := strconv.Atoi(f[1])
		if err == nil && n >= 0 && n <= maxInt {
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

// atoi parses a non-negative decimal no larger than maxInt.
func atoi(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxInt {
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
