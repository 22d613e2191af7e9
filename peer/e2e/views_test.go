package e2e

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// viewLine is one view or message line of a peer, from compose logs.
type viewLine struct {
	Service string    // container name without the run prefix
	Time    time.Time // from `logs -t`; zero without timestamps
	Peer    int
	View    int
	Leader  int
	Members []int  // nil for a message line
	Message string // "" for a view line
}

var viewRE = regexp.MustCompile(`^\{peer_id:\s*(\d+),\s*view_id:\s*(\d+),\s*leader:\s*(\d+),\s*(?:memb_list:\s*\[<?([0-9,\s]*)>?\]|message:\s*"([^"]*)")\s*\}$`)

// parseComposeLogs returns the view and message lines of `compose logs`
// output ("name | [timestamp ]text"), in input order; other lines are skipped.
func parseComposeLogs(text string) []viewLine {
	var lines []viewLine
	for _, raw := range strings.Split(text, "\n") {
		name, rest, ok := strings.Cut(raw, "|")
		if !ok {
			continue
		}
		rest = strings.TrimPrefix(rest, " ")
		var ts time.Time
		if first, after, ok := strings.Cut(rest, " "); ok {
			if t, err := time.Parse(time.RFC3339Nano, first); err == nil {
				ts, rest = t, after
			}
		}
		m := viewRE.FindStringSubmatch(strings.TrimSpace(rest))
		if m == nil {
			continue
		}
		l := viewLine{Service: strings.TrimSpace(name), Time: ts, Message: m[5]}
		l.Peer, _ = strconv.Atoi(m[1])
		l.View, _ = strconv.Atoi(m[2])
		l.Leader, _ = strconv.Atoi(m[3])
		if m[5] == "" {
			l.Members = []int{}
			for _, f := range strings.Split(m[4], ",") {
				if f = strings.TrimSpace(f); f != "" {
					n, _ := strconv.Atoi(f)
					l.Members = append(l.Members, n)
				}
			}
		}
		lines = append(lines, l)
	}
	return lines
}

// isView reports whether l is a view line (not a message line).
func (l viewLine) isView() bool { return l.Members != nil }

// viewsOf returns peer's view lines in order.
func viewsOf(lines []viewLine, peer int) []viewLine {
	var out []viewLine
	for _, l := range lines {
		if l.Peer == peer && l.isView() {
			out = append(out, l)
		}
	}
	return out
}

// crashLatency is how long the survivors took to install a view without a
// crashed peer: from its `crashing` line to the last survivor's view line.
type crashLatency struct {
	Peer      int
	Survivors []int
	Latency   time.Duration
}

// crashLatencies measures each crash that every survivor saw, in the order
// of the crashes. A survivor is a peer that printed a view without the
// crashed peer after the crash.
func crashLatencies(lines []viewLine) []crashLatency {
	var out []crashLatency
	var crashes []viewLine
	for _, c := range lines {
		if c.Message == "crashing" && !c.Time.IsZero() {
			crashes = append(crashes, c)
		}
	}
	slices.SortStableFunc(crashes, func(a, b viewLine) int { return a.Time.Compare(b.Time) })
	for _, c := range crashes {
		first := map[int]time.Time{}
		for _, l := range lines {
			if l.isView() && l.Peer != c.Peer && l.View > c.View && !slices.Contains(l.Members, c.Peer) {
				if t, ok := first[l.Peer]; !ok || l.Time.Before(t) {
					first[l.Peer] = l.Time
				}
			}
		}
		if len(first) == 0 {
			continue
		}
		cl := crashLatency{Peer: c.Peer}
		for p, t := range first {
			cl.Survivors = append(cl.Survivors, p)
			cl.Latency = max(cl.Latency, t.Sub(c.Time))
		}
		slices.Sort(cl.Survivors)
		out = append(out, cl)
	}
	return out
}

const sampleLog = `Attaching to one, two
one    | 2026-11-21T20:18:00.000000000Z {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}
one    | 2026-11-21T20:18:00.100000000Z 2026-11-21T20:18:00.100Z [WARN]  raft: heartbeat timeout reached
two    | 2026-11-21T20:18:02.000000000Z {peer_id:2, view_id: 2, leader: 1, memb_list: [1,2]}
one    | 2026-11-21T20:18:02.001000000Z {peer_id:1, view_id: 2, leader: 1, memb_list: [1,2]}
three  | 2026-11-21T20:18:04.000000000Z {peer_id:3, view_id: 3, leader: 1, memb_list: [<1,2,3>]}
three  | 2026-11-21T20:18:06.000000000Z {peer_id:3, view_id: 3, leader: 1, message:"crashing"}
two    | 2026-11-21T20:18:08.500000000Z {peer_id:2, view_id: 4, leader: 1, memb_list: [1,2]}
one    | 2026-11-21T20:18:08.400000000Z {peer_id:1, view_id: 4, leader: 1, message:"peer 3 unreachable"}
one    | 2026-11-21T20:18:08.600000000Z {peer_id:1, view_id: 4, leader: 1, memb_list: [1,2]}
two    | {peer_id:2, view_id: 4, leader: 1, memb_list: [1,2]} trailing
garbage | {peer_id:x}
no bar line
`

func TestParseComposeLogs(t *testing.T) {
	lines := parseComposeLogs(sampleLog)
	if len(lines) != 8 {
		t.Fatalf("got %d lines, want 8: %+v", len(lines), lines)
	}
	first := lines[0]
	if first.Service != "one" || first.Peer != 1 || first.View != 1 || first.Leader != 1 ||
		!slices.Equal(first.Members, []int{1}) || first.Time.Second() != 0 || first.Time.Minute() != 18 {
		t.Errorf("first line %+v", first)
	}
	if l := lines[3]; !slices.Equal(l.Members, []int{1, 2, 3}) {
		t.Errorf("memberly-style members: %+v", l)
	}
	if l := lines[4]; l.isView() || l.Message != "crashing" || l.Peer != 3 {
		t.Errorf("crash line %+v", l)
	}
	if got := viewsOf(lines, 1); len(got) != 3 || got[2].View != 4 {
		t.Errorf("viewsOf(1) = %+v", got)
	}
	lat := crashLatencies(lines)
	if len(lat) != 1 || lat[0].Peer != 3 || !slices.Equal(lat[0].Survivors, []int{1, 2}) || lat[0].Latency != 2600*time.Millisecond {
		t.Errorf("crashLatencies = %+v, want peer 3 seen by 1,2 after 2.6s", lat)
	}
}

func TestCrashLatenciesInCrashOrder(t *testing.T) {
	logs := `one | 2026-11-21T20:00:20Z {peer_id:1, view_id: 4, leader: 1, memb_list: [1]}
one | 2026-11-21T20:00:12Z {peer_id:1, view_id: 3, leader: 1, memb_list: [1,2]}
two | 2026-11-21T20:00:18Z {peer_id:2, view_id: 3, leader: 1, message:"crashing"}
three | 2026-11-21T20:00:10Z {peer_id:3, view_id: 2, leader: 1, message:"crashing"}
two | 2026-11-21T20:00:12.5Z {peer_id:2, view_id: 3, leader: 1, memb_list: [1,2]}
`
	lat := crashLatencies(parseComposeLogs(logs))
	if len(lat) != 2 || lat[0].Peer != 3 || lat[0].Latency != 2500*time.Millisecond || lat[1].Peer != 2 || lat[1].Latency != 2*time.Second {
		t.Errorf("crashLatencies = %+v, want peer 3 after 2.5s, then peer 2 after 2s", lat)
	}
}

func TestLastLineOf(t *testing.T) {
	logs := "Attaching to one, two\none | 2026-11-21T20:00:00Z first\ntwo | other\none | 2026-11-21T20:00:01.5Z roster: -t is not yet supported\none | \n"
	if got, want := lastLineOf(logs, "one"), "roster: -t is not yet supported"; got != want {
		t.Errorf("lastLineOf = %q, want %q", got, want)
	}
	if got := lastLineOf(logs, "three"); got != "" {
		t.Errorf("lastLineOf(three) = %q, want nothing", got)
	}
}
