package hostsfile

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := "# peers\none\n\n  two 127.0.0.12   # with an address\nthree 127.0.0.1:7946\nfour ::1\n" +
		"roster-0 roster-0.roster.default.svc.cluster.local.\nsix stack_six:7000\n"
	f, err := Parse("h", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Peer{
		{ID: 1, Name: "one"},
		{ID: 2, Name: "two", Host: "127.0.0.12"},
		{ID: 3, Name: "three", Host: "127.0.0.1", Port: 7946},
		{ID: 4, Name: "four", Host: "::1"},
		{ID: 5, Name: "roster-0", Host: "roster-0.roster.default.svc.cluster.local."},
		{ID: 6, Name: "six", Host: "stack_six", Port: 7000},
	}
	if len(f.Peers) != len(want) {
		t.Fatalf("got %+v", f.Peers)
	}
	for i, p := range want {
		if f.Peers[i] != p {
			t.Errorf("peer %d: got %+v want %+v", i+1, f.Peers[i], p)
		}
	}
	if id, ok := f.ID("three"); !ok || id != 3 {
		t.Errorf("ID(three) = %d, %v", id, ok)
	}
	if p, ok := f.Peer(2); !ok || p.Name != "two" {
		t.Errorf("Peer(2) = %+v, %v", p, ok)
	}
	if !f.Peers[3].IsIP() || f.Peers[4].IsIP() || f.Peers[0].IsIP() {
		t.Errorf("IsIP: want true for an IP column only")
	}
	if _, ok := f.Peer(7); ok {
		t.Error("Peer(7) exists")
	}
	if _, err := f.Lookup("seven"); err == nil || !strings.Contains(err.Error(), `"seven" is not in the file`) {
		t.Errorf("Lookup(seven): %v", err)
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "hostsfile h: no peers in file"},
		{"# only comments\n\n", "hostsfile h: no peers in file"},
		{"one\ntwo\none\n", `hostsfile h:3: duplicate name "one" (first on the line of peer 1)`},
		{"one\ntwo 1.2.3\n", `hostsfile h:2: bad address "1.2.3": "1.2.3" is neither an IP nor a DNS name`},
		{"one 127.0.0.1:0\n", `hostsfile h:1: bad address "127.0.0.1:0": port must be 1-65535`},
		{"one host:http\n", `hostsfile h:1: bad address "host:http": port must be 1-65535`},
		{"one -host\n", `hostsfile h:1: bad address "-host": "-host" is neither an IP nor a DNS name`},
		{"one a..b\n", `hostsfile h:1: bad address "a..b"`},
		{"one ::1:2:x\n", `hostsfile h:1: bad address "::1:2:x": want an IP, a DNS name, or either with :port`},
		{"one two three\n", `hostsfile h:1: want "name [address]", got 3 fields`},
		{"o/ne\n", `hostsfile h:1: bad peer name "o/ne"`},
	}
	for _, c := range cases {
		_, err := Parse("h", strings.NewReader(c.in))
		var he *Error
		if !errors.As(err, &he) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope")
	_, err := Load(p)
	if err == nil || err.Error() != "hostsfile "+p+": cannot read: no such file or directory" {
		t.Fatalf("got %v", err)
	}
}
