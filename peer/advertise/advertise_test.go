package advertise

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"roster/peer/hostsfile"
)

// fakeHost is a host with some interfaces, a resolver and a routing table.
type fakeHost struct {
	names  map[string][]string // name -> addresses
	local  []string            // interface addresses
	routes map[string]string   // destination IP -> source IP
	looked []string            // names looked up, in order
	routed []string            // destinations routed to, in order
}

func (h *fakeHost) env() Env {
	return Env{
		LookupIP: func(ctx context.Context, host string) ([]net.IP, error) {
			h.looked = append(h.looked, host)
			addrs, ok := h.names[host]
			if !ok {
				return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
			}
			return ips(addrs), nil
		},
		LocalAddrs: func() ([]net.IP, error) { return ips(h.local), nil },
		RouteFrom: func(dst *net.UDPAddr) (net.IP, error) {
			h.routed = append(h.routed, dst.String())
			src, ok := h.routes[dst.IP.String()]
			if !ok {
				return nil, errors.New("network is unreachable")
			}
			return net.ParseIP(src), nil
		},
	}
}

func ips(ss []string) []net.IP {
	out := make([]net.IP, len(ss))
	for i, s := range ss {
		out[i] = net.ParseIP(s)
	}
	return out
}

func hosts(t *testing.T, text string) *hostsfile.File {
	t.Helper()
	hf, err := hostsfile.Parse("hosts", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return hf
}

// swarmTask is a Docker Swarm task on an overlay network: eth0 on the
// overlay (10.0.1.0/24), eth1 on docker_gwbridge (172.18.0.0/16), the
// default route through docker_gwbridge.
func swarmTask() *fakeHost {
	return &fakeHost{
		names: map[string][]string{
			"one": {"10.0.1.3"}, "two": {"10.0.1.5"}, "three": {"10.0.1.7"},
		},
		local:  []string{"127.0.0.1", "10.0.1.3", "172.18.0.4"},
		routes: map[string]string{"10.0.1.5": "10.0.1.3", "10.0.1.7": "10.0.1.3"},
	}
}

func TestChoose(t *testing.T) {
	three := "one\ntwo\nthree\n"
	cases := []struct {
		name      string
		hosts     string
		self      string
		advertise string
		bind      string
		host      func() *fakeHost
		want      string
		why       string
	}{
		{"--advertise wins", three, "one", "192.0.2.1", "10.0.1.3", swarmTask, "192.0.2.1", "--advertise"},
		{"--bind to one address", three, "one", "", "10.0.1.3", swarmTask, "10.0.1.3", "--bind"},
		{"swarm: the own name, not the gateway bridge", three, "one", "", "0.0.0.0", swarmTask, "10.0.1.3", "one resolves to"},
		{"no bind flag behaves as 0.0.0.0", three, "one", "", "", swarmTask, "10.0.1.3", "one resolves to"},
		{"own name among several addresses", three, "one", "", "", func() *fakeHost {
			h := swarmTask()
			h.names["one"] = []string{"10.0.1.9", "fe80::1", "10.0.1.3"}
			h.local = append(h.local, "fe80::1")
			return h
		}, "10.0.1.3", "one resolves to"},
		{"address column names the peer", "one one.roster.ns.svc\ntwo\n", "one", "", "", func() *fakeHost {
			return &fakeHost{
				names: map[string][]string{"one.roster.ns.svc": {"10.244.1.7"}},
				local: []string{"127.0.0.1", "10.244.1.7", "169.254.3.3"},
			}
		}, "10.244.1.7", "one.roster.ns.svc resolves to"},
		{"address column is a local IP", "one 10.0.0.5\ntwo 10.0.0.6\n", "one", "", "", func() *fakeHost {
			return &fakeHost{local: []string{"10.0.0.5", "192.168.1.2"}}
		}, "10.0.0.5", "10.0.0.5 resolves to"},
		{"own name is loopback (Debian's 127.0.1.1): the route to a peer", three, "one", "", "", func() *fakeHost {
			h := swarmTask()
			h.names["one"] = []string{"127.0.1.1"}
			h.local = append(h.local, "127.0.1.1")
			return h
		}, "10.0.1.3", "the route to two (10.0.1.5:8081)"},
		{"own name not local: the route, skipping peers that do not resolve", three, "one", "", "", func() *fakeHost {
			h := swarmTask()
			h.names["one"] = []string{"203.0.113.9"}
			delete(h.names, "two")
			return h
		}, "10.0.1.3", "the route to three (10.0.1.7:8081)"},
		{"own name does not resolve: the route to a peer's address column", "one\ntwo 10.9.0.2:7000\n", "one", "", "", func() *fakeHost {
			return &fakeHost{local: []string{"10.9.0.1", "172.17.0.2"}, routes: map[string]string{"10.9.0.2": "10.9.0.1"}}
		}, "10.9.0.1", "the route to two (10.9.0.2:7000)"},
		{"nothing works: memberlist's default", three, "one", "", "", func() *fakeHost {
			return &fakeHost{local: []string{"172.18.0.4"}}
		}, "", "memberlist's default"},
		{"a lone peer: memberlist's default", "one\n", "one", "", "", func() *fakeHost {
			return &fakeHost{local: []string{"172.18.0.4"}}
		}, "", "memberlist's default"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hf := hosts(t, tc.hosts)
			self, err := hf.Lookup(tc.self)
			if err != nil {
				t.Fatal(err)
			}
			fh := tc.host()
			got := Choose(context.Background(), Input{Advertise: tc.advertise, Bind: tc.bind, Self: self, Hosts: hf, Port: 8081}, fh.env())
			if got.IP != tc.want || !strings.Contains(got.Why, tc.why) {
				t.Errorf("Choose = %+v, want %q because %q", got, tc.want, tc.why)
			}
		})
	}
}

// TestChooseRoutesNotToItself checks that the route rule skips this peer's
// own line and tries the others in hostsfile order.
func TestChooseRoutesNotToItself(t *testing.T) {
	hf := hosts(t, "one 10.0.0.1\ntwo 10.0.0.2\nthree 10.0.0.3\n")
	self, _ := hf.Lookup("two")
	fh := &fakeHost{local: []string{"172.18.0.4"}, routes: map[string]string{"10.0.0.3": "10.0.0.22"}}
	got := Choose(context.Background(), Input{Self: self, Hosts: hf, Port: 8081}, fh.env())
	if got.IP != "10.0.0.22" {
		t.Errorf("Choose = %+v, want 10.0.0.22 (the route to three)", got)
	}
	if want := []string{"10.0.0.1:8081", "10.0.0.3:8081"}; strings.Join(fh.routed, " ") != strings.Join(want, " ") {
		t.Errorf("routed to %v, want %v", fh.routed, want)
	}
}

// TestChooseBoundedLookups checks that a resolver that hangs costs at most
// the timeout, and the choice falls through to memberlist's default.
func TestChooseBoundedLookups(t *testing.T) {
	hf := hosts(t, "one\ntwo\nthree\n")
	self, _ := hf.Lookup("one")
	env := Env{
		LookupIP: func(ctx context.Context, host string) ([]net.IP, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
		LocalAddrs: func() ([]net.IP, error) { return ips([]string{"10.0.1.3"}), nil },
		RouteFrom:  func(*net.UDPAddr) (net.IP, error) { return nil, errors.New("unreachable") },
	}
	start := time.Now()
	got := Choose(context.Background(), Input{Self: self, Hosts: hf, Port: 8081, Timeout: 50 * time.Millisecond}, env)
	if got.IP != "" {
		t.Errorf("Choose = %+v, want memberlist's default", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Choose took %s with a 50ms timeout", d)
	}
}

// TestSystemRoutesLoopback checks the real Env on this host: a UDP
// "connect" to a loopback address comes from a loopback address.
func TestSystemRoutesLoopback(t *testing.T) {
	src, err := System().RouteFrom(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9})
	if err != nil {
		t.Fatal(err)
	}
	if !src.IsLoopback() {
		t.Errorf("route to 127.0.0.1 from %v, want a loopback address", src)
	}
	addrs, err := System().LocalAddrs()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range addrs {
		found = found || a.IsLoopback()
	}
	if !found {
		t.Errorf("LocalAddrs = %v, want the loopback address among them", addrs)
	}
}

// TestLocalAndSole: a peer whose address left its interfaces has moved; a
// container on one network has one usable address, found without DNS.
func TestLocalAndSole(t *testing.T) {
	h := &fakeHost{local: []string{"127.0.0.1", "::1", "fe80::1", "172.30.70.12"}}
	if !Local(net.ParseIP("172.30.70.12"), h.env()) {
		t.Error("an interface address is not local")
	}
	if Local(net.ParseIP("172.30.70.11"), h.env()) {
		t.Error("an address of no interface is local")
	}
	if ip, ok := Sole(h.env()); !ok || ip.String() != "172.30.70.12" {
		t.Errorf("Sole = %v, %v; want 172.30.70.12", ip, ok)
	}
	if len(h.looked) != 0 {
		t.Errorf("names looked up: %v", h.looked)
	}
	h.local = append(h.local, "10.0.1.5")
	if ip, ok := Sole(h.env()); ok {
		t.Errorf("two usable addresses: Sole = %v, want none", ip)
	}
	h.local = []string{"127.0.0.1"} // cut off every network
	if ip, ok := Sole(h.env()); ok {
		t.Errorf("loopback only: Sole = %v, want none", ip)
	}
	broken := Env{LocalAddrs: func() ([]net.IP, error) { return nil, errors.New("netlink") }}
	if !Local(net.ParseIP("10.0.0.1"), broken) {
		t.Error("interfaces unreadable: an address counts as gone (the peer would move for nothing)")
	}
}
