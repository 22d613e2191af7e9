package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"roster/lab/checker"
	"roster/peer/hostsfile"
)

// viewLine is one view or message record of a peer, as the checker read it
// from compose logs.
type viewLine struct {
	Service string    // container name without the run prefix
	Time    time.Time // from `logs -t`; zero without timestamps
	Peer    int
	View    int
	Leader  int
	Members []int  // the members of a view line
	Message string // the text of a message line
	view    bool
}

// isView reports whether l is a view line (not a message line).
func (l viewLine) isView() bool { return l.view }

// hostsMap maps the hostsfile's names to ids, for the checker.
func hostsMap(hosts *hostsfile.File) map[string]int {
	m := map[string]int{}
	for _, p := range hosts.Peers {
		m[p.Name] = p.ID
	}
	return m
}

// readRun reads compose logs with the checker, and returns its Run and the
// records as viewLines in input order.
func readRun(name, logs string, hosts *hostsfile.File) (*checker.Run, []viewLine, error) {
	run, err := checker.Read([]checker.Source{{Name: name, R: strings.NewReader(logs)}}, checker.Options{Hostsfile: hostsMap(hosts)})
	if err != nil {
		return nil, nil, err
	}
	var lines []viewLine
	for _, e := range run.Events {
		lines = append(lines, viewLine{
			Service: e.Name, Time: e.Time,
			Peer: e.Peer, View: e.ViewID, Leader: e.Leader,
			Members: e.Members, Message: e.Message, view: e.Kind == checker.KindView,
		})
	}
	return run, lines, nil
}

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

const sampleLog = `Attaching to one, two
one    | 2026-11-21T20:18:00.000000000Z {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}
one    | 2026-11-21T20:18:00.100000000Z 2026-11-21T20:18:00.100Z [WARN]  raft: heartbeat timeout reached
two    | 2026-11-21T20:18:02.000000000Z {peer_id:2, view_id: 2, leader: 1, memb_list: [1,2]}
one    | 2026-11-21T20:18:02.001000000Z {peer_id:1, view_id: 2, leader: 1, memb_list: [1,2]}
three  | 2026-11-21T20:18:04.000000000Z {peer_id:3, view_id: 3, leader: 1, memb_list: [1,2,3]}
three  | 2026-11-21T20:18:06.000000000Z {peer_id:3, view_id: 3, leader: 1, message:"crashing"}
one    | 2026-11-21T20:18:08.400000000Z {peer_id:1, view_id: 3, leader: 1, message:"peer 3 unreachable"}
garbage | {peer_id:x}
no bar line
`

func TestReadRun(t *testing.T) {
	_, lines, err := readRun("sample", sampleLog, testHosts(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 6 {
		t.Fatalf("got %d records, want 6: %+v", len(lines), lines)
	}
	first := lines[0]
	if first.Service != "one" || first.Peer != 1 || first.View != 1 || first.Leader != 1 || !first.isView() ||
		!slices.Equal(first.Members, []int{1}) || !first.Time.Equal(time.Date(2026, 11, 21, 20, 18, 0, 0, time.UTC)) {
		t.Errorf("first record %+v", first)
	}
	if l := lines[4]; l.isView() || l.Message != "crashing" || l.Peer != 3 {
		t.Errorf("crash record %+v", l)
	}
	if got := viewsOf(lines, 1); len(got) != 2 || got[1].View != 2 {
		t.Errorf("viewsOf(1) = %+v", got)
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
