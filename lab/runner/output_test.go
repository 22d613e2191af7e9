package runner

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestSinkPrefixesLikeCompose(t *testing.T) {
	at := time.Date(2026, 11, 21, 21, 18, 0, 123456000, time.FixedZone("CET", 3600))
	var live, file bytes.Buffer
	s := &sink{width: 5, now: func() time.Time { return at }, live: &live, file: &file}
	s.line("one", "{peer_id:1, view_id: 1, leader: 1, memb_list: [1]}")
	s.line("three", "x")
	wantLive := "one   | {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}\nthree | x\n"
	if live.String() != wantLive {
		t.Errorf("live output:\n%q\nwant\n%q", live.String(), wantLive)
	}
	wantStamped := "one   | 2026-11-21T20:18:00.123456000Z {peer_id:1, view_id: 1, leader: 1, memb_list: [1]}\n" +
		"three | 2026-11-21T20:18:00.123456000Z x\n"
	if file.String() != wantStamped || string(s.collected()) != wantStamped {
		t.Errorf("stamped log:\n%q\nwant\n%q", file.String(), wantStamped)
	}
	live.Reset()
	s.liveTime = true
	s.line("one", "y")
	if live.String() != "one   | 2026-11-21T20:18:00.123456000Z y\n" {
		t.Errorf("--timestamps output %q", live.String())
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	in := "a\r\nb\n\nlast without newline"
	var got []string
	lineReader(iotest.OneByteReader(strings.NewReader(in)), func(l string) { got = append(got, l) })
	if want := []string{"a", "b", "", "last without newline"}; !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
	got = nil
	lineReader(strings.NewReader(long+"\nz\n"), func(l string) { got = append(got, l) })
	if len(got) != 3 || len(got[0]) != maxLine || len(got[1]) != 10 || got[2] != "z" {
		t.Errorf("a long line split into %d pieces", len(got))
	}
}
