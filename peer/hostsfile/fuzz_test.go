package hostsfile

import (
	"strings"
	"testing"
)

// FuzzParse: no hostsfile panics the parser, and a file it accepts is
// consistent: ids 1..n in order, distinct names that look up to their line,
// addresses of one word (an IP or a DNS name) and ports in range.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"one\ntwo\nthree\n",
		"# peers\none 127.0.0.11\n\n two 127.0.0.12:7946 # x\nfour ::1\n",
		"one\none\n",
		"one 300.1.1.1\n",
		"one 127.0.0.1:0\n",
		"one [::1]:99999\n",
		"\x00\n#\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		file, err := Parse("fuzz", strings.NewReader(s))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		if len(file.Peers) == 0 {
			t.Fatal("accepted a file without peers")
		}
		for i, p := range file.Peers {
			if p.ID != i+1 || p.Name == "" {
				t.Fatalf("peer %d: %+v", i+1, p)
			}
			if id, ok := file.ID(p.Name); !ok || id != p.ID {
				t.Fatalf("ID(%q) = %d, %v; want %d", p.Name, id, ok, p.ID)
			}
			if got, err := file.Lookup(p.Name); err != nil || got != p {
				t.Fatalf("Lookup(%q) = %+v, %v", p.Name, got, err)
			}
			if strings.ContainsAny(p.Host, " \t\n#") {
				t.Fatalf("peer %q: host %q is not one word", p.Name, p.Host)
			}
			if p.Port < 0 || p.Port > 65535 || (p.Port != 0 && p.Host == "") {
				t.Fatalf("peer %q: port %d", p.Name, p.Port)
			}
		}
	})
}
