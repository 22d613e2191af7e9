package directory

import (
	"maps"
	"strings"
	"testing"

	"roster/peer/hostsfile"
)

func TestDirectory(t *testing.T) {
	hosts, err := hostsfile.Parse("hosts", strings.NewReader("one\ntwo\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := New(hosts)
	if id, ok := d.ID("two"); !ok || id != 2 {
		t.Fatalf("hostsfile name: %d %v", id, ok)
	}
	if d.NextID(1) != 3 || d.NextID(7) != 7 {
		t.Fatalf("NextID past the hostsfile: %d, %d", d.NextID(1), d.NextID(7))
	}
	// Hostsfile names and ids, and bad entries, are never learned.
	if d.Learn(map[string]int{"one": 5, "x": 2, "bad name": 9, "y": 0}) {
		t.Fatalf("learned %v", d.Registered())
	}
	if !d.Learn(map[string]int{"a": 3, "b": 4}) {
		t.Fatal("learned nothing")
	}
	// What is known first wins: no name changes id, no id changes name.
	if d.Learn(map[string]int{"a": 6, "c": 4}) {
		t.Fatalf("relearned: %v", d.Registered())
	}
	if want := map[string]int{"a": 3, "b": 4}; !maps.Equal(d.Registered(), want) {
		t.Fatalf("registered %v, want %v", d.Registered(), want)
	}
	if p, ok := d.Peer(4); !ok || p.Name != "b" || p.Host != "" {
		t.Fatalf("Peer(4) = %+v %v", p, ok)
	}
	if d.Name(1) != "one" || d.Name(9) != "" || !d.Listed("one") || d.Listed("a") {
		t.Fatal("Name or Listed wrong")
	}
	// Without a hostsfile, ids start at 1.
	if New(hostsfile.Empty()).NextID(1) != 1 {
		t.Fatal("empty hostsfile: NextID is not 1")
	}
}
