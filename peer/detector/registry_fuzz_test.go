package detector

import (
	"net"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"roster/peer/directory"
	"roster/peer/hostsfile"
)

// FuzzMergeState: no registry another peer hands over panics this one; a
// hostsfile name never changes its id, a name learned first keeps its id,
// and a guest whose name the registry gives moves to the alive peers under
// that id.
func FuzzMergeState(f *testing.F) {
	f.Add([]byte(`{"a":3,"g":4}`))
	f.Add([]byte(`{"one":9,"b":1}`))
	f.Add([]byte(`{"a":5}`))
	f.Add([]byte(`{"bad name":6,"g":-1}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		hosts, err := hostsfile.Parse("hosts", strings.NewReader("one\ntwo\n"))
		if err != nil {
			t.Fatal(err)
		}
		dir := directory.New(hosts)
		dir.Learn(map[string]int{"a": 3})
		d := &Detector{
			cfg: Config{Hosts: hosts, Dir: dir}, log: hclog.NewNullLogger(), changed: make(chan struct{}, 1),
			alive: map[int]Member{}, guests: map[string]Member{"g": {Name: "g", Addr: net.IPv4(10, 0, 0, 7)}},
			leaving: map[int]bool{}, pending: map[int]Member{}, down: map[int]bool{},
		}
		d.mergeState(b)
		if id, _ := dir.ID("one"); id != 1 {
			t.Fatalf("hostsfile name one has id %d", id)
		}
		if id, _ := dir.ID("a"); id != 3 {
			t.Fatalf("a has id %d, learned 3 first", id)
		}
		if id, ok := dir.ID("g"); ok {
			if m, alive := d.alive[id]; !alive || m.Name != "g" || m.ID != id || len(d.guests) != 0 {
				t.Fatalf("g registered as %d: alive %+v guests %+v", id, d.alive, d.guests)
			}
		} else if len(d.guests) != 1 {
			t.Fatalf("g lost: guests %+v", d.guests)
		}
	})
}
