package runner

import (
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"roster/peer/hostsfile"
)

func svc(name string, args ...string) Service { return Service{Name: name, Peer: name, Args: args} }

func TestLayoutTakesIDsFromTheNamedHostsfile(t *testing.T) {
	dir := writeFiles(t, map[string]string{"h/peers.txt": "# ids\nzero 10.0.0.9\nb\na\nspare\n"})
	sc := &Scenario{Dir: dir, Duration: 1, Services: []Service{
		svc("a", "-h", "h/peers.txt"), svc("b", "--hostsfile=h/peers.txt", "-d", "1"), svc("nem", "nemesis"),
	}}
	pl := &placement{ips: []string{"127.9.9.11", "127.9.9.12", "127.9.9.13"}, ports: [][3]int{{1, 2, 3}, {1, 2, 3}, {1, 2, 3}}, uniform: true}
	lay, _, err := buildLayout(sc, fixed(t, pl, 3))
	if err != nil {
		t.Fatal(err)
	}
	hf, err := hostsfile.Parse("generated", strings.NewReader(lay.text))
	if err != nil {
		t.Fatal(err)
	}
	want := []hostsfile.Peer{
		{ID: 1, Name: "zero", Host: "10.0.0.9"}, {ID: 2, Name: "b", Host: "127.9.9.12"},
		{ID: 3, Name: "a", Host: "127.9.9.11"}, {ID: 4, Name: "spare", Host: "127.9.9.13"},
	}
	if len(hf.Peers) != len(want) {
		t.Fatalf("generated hostsfile:\n%s", lay.text)
	}
	for i, p := range hf.Peers {
		if p != want[i] {
			t.Errorf("line %d: %+v, want %+v", i+1, p, want[i])
		}
	}
	if lay.endpoints[0].ID != 3 || lay.endpoints[1].ID != 2 || lay.endpoints[2] != (Endpoint{}) {
		t.Errorf("endpoints %+v", lay.endpoints)
	}
	if lay.ids["a"] != 3 || lay.ids["zero"] != 1 || len(lay.ids) != 4 {
		t.Errorf("ids %v", lay.ids)
	}
}

// fixed returns a placement function that returns pl, and checks it is asked
// for want addresses (any number when want < 0).
func fixed(t *testing.T, pl *placement, want int) func(int) (*placement, error) {
	return func(n int) (*placement, error) {
		if want >= 0 && n != want {
			t.Errorf("placement asked for %d addresses, want %d", n, want)
		}
		return pl, nil
	}
}

func TestLayoutWithoutHostsfileFollowsServiceOrder(t *testing.T) {
	sc := &Scenario{Services: []Service{svc("c"), svc("a"), svc("b")}}
	pl := &placement{ips: []string{"127.0.0.1", "127.0.0.1", "127.0.0.1"}, ports: [][3]int{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}}
	lay, _, err := buildLayout(sc, fixed(t, pl, 3))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(lay.text), "\n")
	want := []string{"c 127.0.0.1:2", "a 127.0.0.1:5", "b 127.0.0.1:8"}
	if len(lines) != 4 || strings.Join(lines[1:], "|") != strings.Join(want, "|") {
		t.Errorf("generated hostsfile:\n%s\nwant the lines %q after a comment", lay.text, want)
	}
	if lay.ids["c"] != 1 || lay.ids["b"] != 3 {
		t.Errorf("ids %v", lay.ids)
	}
}

func TestLayoutErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"peers.txt": "one\ntwo\n", "other.txt": "one\n", "bad.txt": "one two three\n"})
	pl := &placement{ips: []string{"127.0.0.1", "127.0.0.1"}, ports: [][3]int{{1, 2, 3}, {4, 5, 6}}}
	cases := []struct {
		name string
		svcs []Service
		want []string
	}{
		{"not in hostsfile", []Service{svc("one", "-h", "peers.txt"), svc("six", "-h", "peers.txt")},
			[]string{"service six", `"six"`, filepath.Join(dir, "peers.txt")}},
		{"missing hostsfile", []Service{svc("one", "-h", "nope.txt")}, []string{"nope.txt", "cannot read"}},
		{"bad hostsfile", []Service{svc("one", "-h", "bad.txt")}, []string{"bad.txt:1"}},
		{"two hostsfiles", []Service{svc("one", "-h", "peers.txt"), svc("two", "-h", "other.txt")},
			[]string{"services one and two name different hostsfiles"}},
		{"bad peer name", []Service{svc("one"), {Name: "x", Peer: "bad name!"}}, []string{"valid hostsfile"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := buildLayout(&Scenario{File: "c.yml", Dir: dir, Services: c.svcs}, fixed(t, pl, -1))
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an InputError", err)
			}
			for _, w := range append(c.want, "c.yml") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestPlaceGivesBindableDistinctAddresses(t *testing.T) {
	for _, shared := range []bool{false, true} {
		pl, err := place(5, shared)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, ip := range pl.ips {
			for _, p := range pl.ports[i] {
				key := net.JoinHostPort(ip, strconv.Itoa(p))
				if seen[key] {
					t.Errorf("shared=%v: %s given twice", shared, key)
				}
				seen[key] = true
			}
			if !free(ip, pl.ports[i]) {
				t.Errorf("shared=%v: %s %v not free", shared, ip, pl.ports[i])
			}
		}
		if shared && (pl.uniform || pl.ips[0] != "127.0.0.1") {
			t.Errorf("shared placement %+v", pl)
		}
	}
}

func TestFreeSeesBusyPorts(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := l.Addr().(*net.TCPAddr).Port
	if free("127.0.0.1", [3]int{p, p + 1, p + 2}) || free("127.0.0.1", [3]int{p - 2, p - 1, p}) {
		t.Errorf("free() missed the busy TCP port %d", p)
	}
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	q := u.LocalAddr().(*net.UDPAddr).Port
	if free("127.0.0.1", [3]int{q - 1, q, q + 1}) {
		t.Errorf("free() missed the busy UDP gossip port %d", q)
	}
}
