package viewlog

import (
	"slices"
	"testing"
)

func TestGroupLinesRoundTrip(t *testing.T) {
	line := FormatGroupView("c1", "jobs", 7, []string{"c1", "c2"})
	if want := `{client:"c1", group:"jobs", group_view: 7, members: ["c1","c2"]}`; line != want {
		t.Fatalf("FormatGroupView = %s, want %s", line, want)
	}
	r, ok := ParseGroup(line)
	if !ok || r.Kind != GroupView || r.Client != "c1" || r.Group != "jobs" || r.Index != 7 || !slices.Equal(r.Members, []string{"c1", "c2"}) {
		t.Fatalf("ParseGroup(%s) = %+v, %v", line, r, ok)
	}
	odd := `we "quote", [brackets] and \ back`
	line = FormatGroupView(odd, "g,1", 1<<40, []string{odd, "ü"})
	r, ok = ParseGroup(line)
	if !ok || r.Client != odd || r.Group != "g,1" || r.Index != 1<<40 || !slices.Equal(r.Members, []string{odd, "ü"}) {
		t.Fatalf("ParseGroup(%s) = %+v, %v", line, r, ok)
	}
	for msg, kind := range map[string]GroupKind{Joining: GroupJoining, Crashing: GroupCrash, Killed: GroupCrash, Leaving: GroupLeaving, "check failed": GroupMessage} {
		line := FormatGroupMessage("c2", "jobs", 3, msg)
		r, ok := ParseGroup(line)
		if !ok || r.Kind != kind || r.Message != msg || r.Index != 3 || r.Members != nil {
			t.Errorf("ParseGroup(%s) = %+v, %v; want kind %v", line, r, ok, kind)
		}
	}
	if _, ok := Parse(FormatGroupView("c1", "jobs", 7, nil)); ok {
		t.Error("a group line parsed as a view line")
	}
	if _, ok := ParseGroup(FormatView(1, 2, 1, []int{1})); ok {
		t.Error("a view line parsed as a group line")
	}
}

func TestParseGroupVariants(t *testing.T) {
	good := map[string][]string{
		`{client:"c1", group:"jobs", group_view: 7, members: []}`:                    {},
		`{ client: "c1" ,group:"jobs",group_view:7,members:[ "b" , "a" ]}`:           {"b", "a"},
		`{client:"c1", group:"jobs", group_view: 7, owner: 3, members: ["a"]}`:       {"a"},
		`{client:"c1", group:"jobs", group_view: 7, members: ["\u0061\"b"], x: "y"}`: {"a\"b"},
	}
	for line, want := range good {
		r, ok := ParseGroup(line)
		if !ok || r.Kind != GroupView || !slices.Equal(r.Members, want) {
			t.Errorf("ParseGroup(%s) = %+v, %v; want members %q", line, r, ok, want)
		}
	}
	bad := []string{
		``, `{}`, `{client:"c1"}`,
		`{client:"c1", group:"jobs", group_view: 7}`,
		`{client:"c1", group:"jobs", group_view: 7, members: ["a"], message:"x"}`,
		`{client:"c1", group:"jobs", group_view: -7, members: []}`,
		`{client:"c1", group:"jobs", group_view: 99999999999999999999, members: []}`,
		`{client:c1, group:"jobs", group_view: 7, members: []}`,
		`{client:"c1", group:"jobs", group_view: 7, members: ["a",]}`,
		`{client:"c1", group:"jobs", group_view: 7, members: [,"a"]}`,
		`{client:"c1", group:"jobs", group_view: 7, members: ["a" "b"]}`,
		`{client:"c1", group:"jobs", group_view: 7, members: ["a"}`,
		`{client:"c1", client:"c2", group:"jobs", group_view: 7, members: []}`,
		`{client:"c1\", group:"jobs", group_view: 7, members: []}`,
		`{client:"c1", group:"jobs", group_view: 7, message:"bad \x"}`,
	}
	for _, line := range bad {
		if r, ok := ParseGroup(line); ok {
			t.Errorf("ParseGroup(%s) = %+v, want no record", line, r)
		}
	}
}

func FuzzParseGroup(f *testing.F) {
	f.Add(`{client:"c1", group:"jobs", group_view: 7, members: ["c1","c2"]}`)
	f.Add(`{client:"c1", group:"jobs", group_view: 0, message:"joining"}`)
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := ParseGroup(s)
		if !ok {
			return
		}
		// What parses prints back to a line that parses the same.
		var again GroupRecord
		if r.Kind == GroupView {
			again, ok = ParseGroup(FormatGroupView(r.Client, r.Group, r.Index, r.Members))
		} else {
			again, ok = ParseGroup(FormatGroupMessage(r.Client, r.Group, r.Index, r.Message))
		}
		if !ok || again.Client != r.Client || again.Group != r.Group || again.Index != r.Index || !slices.Equal(again.Members, r.Members) || again.Message != r.Message {
			t.Fatalf("%q parsed as %+v, printed back as %+v", s, r, again)
		}
	})
}
