package viewlog

import (
	"bytes"
	"testing"
)

func TestFormat(t *testing.T) {
	cases := []struct{ got, want string }{
		{FormatView(2, 3, 1, []int{1, 2, 3}), "{peer_id:2, view_id: 3, leader: 1, memb_list: [1,2,3]}"},
		{FormatView(1, 1, 1, []int{1}), "{peer_id:1, view_id: 1, leader: 1, memb_list: [1]}"},
		{FormatMessage(2, 5, 1, Unreachable(5, false)), `{peer_id:2, view_id: 5, leader: 1, message:"peer 5 unreachable"}`},
		{FormatMessage(1, 5, 1, Unreachable(1, true)), `{peer_id:1, view_id: 5, leader: 1, message:"peer 1 (leader) unreachable"}`},
		{FormatMessage(5, 5, 1, Crashing), `{peer_id:5, view_id: 5, leader: 1, message:"crashing"}`},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got  %s\nwant %s", c.got, c.want)
		}
	}
}

func TestLoggerWritesWholeLines(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, 4)
	l.View(7, 2, []int{2, 4})
	l.Message(7, 2, Crashing)
	want := "{peer_id:4, view_id: 7, leader: 2, memb_list: [2,4]}\n{peer_id:4, view_id: 7, leader: 2, message:\"crashing\"}\n"
	if b.String() != want {
		t.Fatalf("got %q want %q", b.String(), want)
	}
}
