package viewlog

import (
	"bytes"
	"slices"
	"testing"
)

func TestGroupFormat(t *testing.T) {
	cases := []struct{ got, want string }{
		{FormatGroupView("c1", "jobs", 7, []string{"c1", "c2"}), `{client:"c1", group:"jobs", group_view: 7, members: ["c1","c2"]}`},
		{FormatGroupView("c1", "jobs", 9, []string{}), `{client:"c1", group:"jobs", group_view: 9, members: []}`},
		{FormatGroupMessage("c1", "jobs", 7, Crashing), `{client:"c1", group:"jobs", group_view: 7, message:"crashing"}`},
		{FormatGroupMessage("c1", "jobs", 0, Joining), `{client:"c1", group:"jobs", group_view: 0, message:"joining"}`},
		{FormatGroupView(`a"b`, "<g&>", 1, []string{`a"b`}), `{client:"a\"b", group:"<g&>", group_view: 1, members: ["a\"b"]}`},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got  %s\nwant %s", c.got, c.want)
		}
	}
}

func TestGroupParseRoundTrip(t *testing.T) {
	lines := []GroupRecord{
		{Client: "c1", Group: "jobs", Index: 7, Members: []string{"c1", "c2"}},
		{Client: "c1", Group: "jobs", Index: 3, Members: []string{}},
		{Client: "c1", Group: "jobs", Index: 7, Message: Leaving},
		{Client: `we"ird, [id]`, Group: "g é", Index: 12, Members: []string{`we"ird, [id]`, "z"}},
	}
	for _, want := range lines {
		var s string
		if want.Members != nil {
			s = FormatGroupView(want.Client, want.Group, want.Index, want.Members)
		} else {
			s = FormatGroupMessage(want.Client, want.Group, want.Index, want.Message)
		}
		got, ok := ParseGroup("  " + s + " ")
		if !ok || got.Client != want.Client || got.Group != want.Group || got.Index != want.Index ||
			got.Message != want.Message || !slices.Equal(got.Members, want.Members) || got.IsView() != want.IsView() {
			t.Errorf("ParseGroup(%s) = %+v, %v; want %+v", s, got, ok, want)
		}
	}
}

func TestGroupParseRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"{}",
		`{client:"c1", group:"jobs", members: ["c1"]}`,                          // no group_view
		`{client:"c1", group:"jobs", group_view: 1}`,                            // neither members nor message
		`{client:"c1", group:"jobs", group_view: 1, members: [], message:"x"}`,  // both
		`{client:"c1", group:"jobs", group_view: 1, members: ["c1",]}`,          // trailing comma
		`{client:"c1", group:"jobs", group_view: 1, members: [c1]}`,             // unquoted
		`{client:"c1, group:"jobs", group_view: 1, members: []}`,                // broken quote
		`{client:"c1", client:"c2", group:"jobs", group_view: 1, members: []}`,  // duplicate key
		`{peer_id:2, view_id: 3, leader: 1, memb_list: [1,2,3]}`,                // a peer's view line
		`{client:"c1", group:"jobs", group_view: 99999999999, members: ["c1"]}`, // too large
	} {
		if r, ok := ParseGroup(s); ok {
			t.Errorf("ParseGroup(%q) = %+v, want a rejection", s, r)
		}
	}
	// A group line is not a view line either.
	if _, ok := Parse(FormatGroupView("c1", "jobs", 1, []string{"c1"})); ok {
		t.Error("Parse accepts a group line as a view line")
	}
}

func TestGroupLoggerWritesWholeLines(t *testing.T) {
	var b bytes.Buffer
	l := NewGroup(&b, "c1", "jobs")
	l.Message(0, Joining)
	l.View(4, []string{"c1"})
	want := "{client:\"c1\", group:\"jobs\", group_view: 0, message:\"joining\"}\n{client:\"c1\", group:\"jobs\", group_view: 4, members: [\"c1\"]}\n"
	if b.String() != want {
		t.Fatalf("got %q want %q", b.String(), want)
	}
}
