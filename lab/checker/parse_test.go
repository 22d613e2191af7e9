package checker

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"roster/peer/viewlog"
)

func TestParseLine(t *testing.T) {
	ts := time.Date(2026, 11, 21, 20, 18, 0, 123456789, time.UTC)
	view := func(peer, id, leader int, m ...int) *Record {
		if m == nil {
			m = []int{}
		}
		return &Record{Peer: peer, ViewID: id, Leader: leader, Kind: KindView, Members: m}
	}
	cases := []struct {
		in   string
		want Line
	}{
		{"{peer_id:2, view_id: 3, leader: 1, memb_list: [1,2,3]}", Line{Rec: view(2, 3, 1, 1, 2, 3)}},
		{"{peer_id:2, view_id: 3, leader: 1, memb_list: [<1,2,3>]}", Line{Rec: view(2, 3, 1, 1, 2, 3)}},
		{"{peer_id:2, view_id: 3, leader: 1, memb_list: [<1>,<2>]}", Line{Rec: view(2, 3, 1, 1, 2)}},
		{"{peer_id:2, view_id: 3, leader: 1, memb_list: []}", Line{Rec: view(2, 3, 1)}},
		{"  { peer_id : 2 ,view_id:3,leader :1 , memb_list : [ 1 , 2 ] }  \r", Line{Rec: view(2, 3, 1, 1, 2)}},
		{"{peer_id:2,\tview_id: 3, leader: 1, memb_list: [1 2]}", Line{Rec: view(2, 3, 1, 1, 2)}},
		{`{peer_id:5, view_id: 5, leader: 1, message:"crashing"}`, Line{Rec: &Record{Peer: 5, ViewID: 5, Leader: 1, Kind: KindCrash, Message: "crashing"}}},
		{`{peer_id:3, view_id: 0, leader: 0, message:"killed"}`, Line{Rec: &Record{Peer: 3, Kind: KindCrash, Message: "killed"}}},
		{`{peer_id:2, view_id: 5, leader: 1, message:"peer 5 unreachable"}`, Line{Rec: &Record{Peer: 2, ViewID: 5, Leader: 1, Kind: KindUnreachable, Message: "peer 5 unreachable", Target: 5}}},
		{`{peer_id:1, view_id: 5, leader: 1, message:"peer 1 (leader) unreachable"}`, Line{Rec: &Record{Peer: 1, ViewID: 5, Leader: 1, Kind: KindUnreachable, Message: "peer 1 (leader) unreachable", Target: 1, TargetLeader: true}}},
		{`{peer_id:1, view_id: 5, leader: 1, message:"say \"hi\""}`, Line{Rec: &Record{Peer: 1, ViewID: 5, Leader: 1, Kind: KindMessage, Message: `say "hi"`}}},
		{"{peer_id:1, view_id: 5, leader: 1, term: 3, memb_list: [1]}", Line{Rec: view(1, 5, 1, 1)}},
		// Prefixes and timestamps.
		{"one      | 2026-11-21T20:18:00.123456789Z {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}", Line{Name: "one", Time: ts, Rec: view(1, 1, 1, 1)}},
		{"one-1  | {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}", Line{Name: "one-1", Rec: view(1, 1, 1, 1)}},
		{"roster_one_1 | {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}", Line{Name: "roster_one_1", Rec: view(1, 1, 1, 1)}},
		{"\x1b[36mone-1  |\x1b[0m {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}", Line{Name: "one-1", Rec: view(1, 1, 1, 1)}},
		{"2026-11-21T20:18:00.123456789Z {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}", Line{Time: ts, Rec: view(1, 1, 1, 1)}},
		{"one | 2026-11-21T21:18:00.123456789+01:00 {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}", Line{Name: "one", Time: ts, Rec: view(1, 1, 1, 1)}},
		// docker service logs, with and without --timestamps (which come first).
		{"opsx_one.1.kaxl7mzl6dbf@vm    | {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}", Line{Name: "opsx_one.1.kaxl7mzl6dbf", Rec: view(1, 1, 1, 1)}},
		{"2026-11-21T20:18:00.123456789Z opsx_one.1.kaxl7mzl6dbfyq4iajsxdw1i5@node-1.lan    | {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}", Line{Name: "opsx_one.1.kaxl7mzl6dbfyq4iajsxdw1i5", Time: ts, Rec: view(1, 1, 1, 1)}},
		{"2026-11-21T20:18:00.123456789Z one.1.kaxl7mzl6dbf@vm | 2026-11-21T20:18:00.123Z [WARN]  one.raft: x", Line{Name: "one.1.kaxl7mzl6dbf", Time: ts}},
		{"one@ | {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}", Line{}},
		{"2026-11-21T20:18:00.123456789Z one@ | x", Line{Time: ts}},
		// An escape sequence separates what it separates.
		{"0\x1b0|", Line{}},
		{"one\x1b[0m-1 | {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}", Line{}},
		{"{peer_id:1\x1b[1m2, view_id: 1, leader: 1, memb_list: [1]}", Line{}},
		{"\x1b[1m\x1b[36mone\x1b[0m |\x1b {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}\x1b[", Line{Name: "one", Rec: view(1, 1, 1, 1)}},
		// Not records.
		{"one      | 2026-11-21T20:18:00.123456789Z 2026-11-21T20:18:00.123Z [WARN]  raft: heartbeat timeout", Line{Name: "one", Time: ts}},
		{"2026-11-21T20:18:00.123456789Z [WARN]  raft: heartbeat timeout | x", Line{Time: ts}},
		{"Attaching to one, two", Line{}},
		{"five-1 exited with code 1", Line{}},
		{"{peer_id:1, view_id: 1, leader: 1}", Line{}},
		{"{peer_id:1, view_id: 1, memb_list: [1]}", Line{}},
		{`{peer_id:1, view_id: 1, leader: 1, memb_list: [1], message:"x"}`, Line{}},
		{"{peer_id:1, peer_id:1, view_id: 1, leader: 1, memb_list: [1]}", Line{}},
		{"{peer_id:1 view_id: 1, leader: 1, memb_list: [1]}", Line{}},
		{"{peer_id:-1, view_id: 1, leader: 1, memb_list: [1]}", Line{}},
		{"{peer_id:99999999999, view_id: 1, leader: 1, memb_list: [1]}", Line{}},
		{"{peer_id:1, view_id: 1, leader: 1, memb_list: [1,x]}", Line{}},
		{"{peer_id:1, view_id: 1, leader: 1, memb_list: [1", Line{}},
		{`{peer_id:1, view_id: 1, leader: 1, message:"open}`, Line{}},
		{"log: {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}", Line{}},
		{"", Line{}},
	}
	for _, c := range cases {
		got := ParseLine(c.in)
		if !got.Time.Equal(c.want.Time) {
			t.Errorf("ParseLine(%q).Time = %v, want %v", c.in, got.Time, c.want.Time)
		}
		got.Time, c.want.Time = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseLine(%q)\n got %+v %+v\nwant %+v %+v", c.in, got, got.Rec, c.want, c.want.Rec)
		}
	}
}

// FuzzParseLine checks that no input panics the parser, and that what it
// accepts is sane. The seed corpus runs in plain `go test`.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"{peer_id:2, view_id: 3, leader: 1, memb_list: [1,2,3]}",
		"{peer_id:2, view_id: 3, leader: 1, memb_list: [<1,2,3>]}",
		"{peer_id:2, view_id: 3, leader: 1, memb_list: []}",
		`{peer_id:2, view_id: 5, leader: 1, message:"peer 5 unreachable"}`,
		`{peer_id:1, view_id: 5, leader: 1, message:"peer 1 (leader) unreachable"}`,
		`{peer_id:5, view_id: 5, leader: 1, message:"crashing"}`,
		`{peer_id:5, view_id: 5, leader: 1, message:"a\"b\\"}`,
		"one      | 2026-11-21T20:18:00.123456789Z {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}",
		"one-1  | {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}",
		"\x1b[36mone-1  |\x1b[0m 2026-11-21T21:18:00+01:00 {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}",
		"2026-11-21T20:18:00.123Z [WARN]  raft: heartbeat timeout reached",
		"{peer_id:1, x: [1,2], y: \"z\", view_id: 1, leader: 1, memb_list: [1]}",
		"{peer_id:, view_id: 1, leader: 1, memb_list: [1]}",
		"{{{{[[[<<<>>>]]]}}}}",
		"\x1b[",
		"a|b|c",
		"|",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ln := ParseLine(s)
		if ln.Name != "" && !strings.Contains(s, ln.Name) {
			t.Errorf("name %q not in the line", ln.Name)
		}
		if r := ln.Rec; r != nil {
			if r.Peer < 0 || r.Peer > viewlog.MaxNumber || r.ViewID < 0 || r.ViewID > viewlog.MaxNumber || r.Leader < 0 || r.Leader > viewlog.MaxNumber {
				t.Errorf("out of range ids in %+v", r)
			}
			if (r.Kind == KindView) != (r.Members != nil) {
				t.Errorf("kind %v with members %v", r.Kind, r.Members)
			}
			for _, m := range r.Members {
				if m < 0 || m > viewlog.MaxNumber {
					t.Errorf("member %d out of range", m)
				}
			}
			if r.Kind == KindUnreachable && !strings.Contains(r.Message, "unreachable") {
				t.Errorf("unreachable without saying so: %q", r.Message)
			}
		}
		// A run made of the line must read and check without panicking,
		// and its report must render.
		run, err := Read([]Source{{Name: "fuzz", R: strings.NewReader(s + "\n" + s)}}, Options{Hostsfile: hosts})
		if err != nil {
			t.Fatal(err)
		}
		rep := Check(run, Options{Killed: []int{1}})
		var sb strings.Builder
		if err := rep.WriteText(&sb); err != nil {
			t.Fatal(err)
		}
		if err := WriteHTML(&sb, run, rep); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) && !utf8.ValidString(sb.String()) {
			t.Errorf("valid input made invalid UTF-8 output")
		}
	})
}
