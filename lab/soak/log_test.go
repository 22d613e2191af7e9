package soak

import (
	"roster/lab/runner"

	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSoakLogAddsKillMarkersAndCutsTheGoodbyes(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	var b strings.Builder
	line := func(name string, s float64, text string) {
		fmt.Fprintf(&b, "%-5s | %s %s\n", name, at(s).Format(runner.TimeLayout), text)
	}
	line("one", 1, "{peer_id:1, view_id: 2, leader: 1, memb_list: [1,2]}")
	line("two", 1.1, "{peer_id:2, view_id: 2, leader: 1, memb_list: [1,2]}")
	line("two", 5.2, "a diagnostic two printed just before it died, read after the kill")
	line("one", 6, `{peer_id:1, view_id: 2, leader: 1, message:"peer 2 unreachable"}`)
	line("one", 6.1, "{peer_id:1, view_id: 3, leader: 1, memb_list: [1]}")
	line("two", 9, "{peer_id:2, view_id: 4, leader: 1, memb_list: [1,2]}") // started again at 8 s
	line("one", 9, "{peer_id:1, view_id: 4, leader: 1, memb_list: [1,2]}")
	line("one", 30.5, `{peer_id:1, view_id: 4, leader: 1, message:"leaving"}`)
	ids := map[string]int{"one": 1, "two": 2}
	kills := []killRecord{{name: "two", at: at(5), start: at(8)}}
	got := string(soakLog([]byte(b.String()), ids, kills, at(30)))

	lines := strings.Split(strings.TrimSpace(got), "\n")
	want := []string{"view_id: 2", "view_id: 2", "a diagnostic", `two   | ` + at(5.2).Format(runner.TimeLayout) + ` {peer_id:2, view_id: 0, leader: 0, message:"killed"}`,
		"peer 2 unreachable", "view_id: 3", "{peer_id:2, view_id: 4", "{peer_id:1, view_id: 4"}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), got)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %q, want it to contain %q\n%s", i+1, lines[i], w, got)
		}
	}

	// A peer killed for good before it printed anything gets its marker in
	// time order.
	got = string(soakLog([]byte(b.String()), map[string]int{"one": 1, "two": 2, "three": 3}, []killRecord{{name: "three", at: at(3)}}, at(30)))
	lines = strings.Split(strings.TrimSpace(got), "\n")
	if !strings.HasPrefix(lines[2], "three | "+at(3).Format(runner.TimeLayout)+` {peer_id:3, view_id: 0, leader: 0, message:"killed"}`) {
		t.Errorf("marker of three misplaced:\n%s", got)
	}
}
