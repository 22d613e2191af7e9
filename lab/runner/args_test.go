package runner

import (
	"slices"
	"testing"
)

func TestWithHostsfile(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"-h", "hosts.txt", "-d", "2"}, []string{"-h", "/run/h", "-d", "2"}},
		{[]string{"--hostsfile", "hosts.txt"}, []string{"--hostsfile", "/run/h"}},
		{[]string{"-d", "2", "--hostsfile=hosts.txt"}, []string{"-d", "2", "--hostsfile=/run/h"}},
		{[]string{"-h=x"}, []string{"-h=/run/h"}},
		{[]string{"-d", "2"}, []string{"-h", "/run/h", "-d", "2"}},
		{nil, []string{"-h", "/run/h"}},
	}
	for _, c := range cases {
		if got := withHostsfile(c.in, "/run/h"); !slices.Equal(got, c.want) {
			t.Errorf("withHostsfile(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMayCrash(t *testing.T) {
	yes := [][]string{{"-c", "4"}, {"-h", "x", "--crash-after", "4"}, {"-t"}, {"--leader-crash"}, {"-c=4"}, {"--leader-crash=true"}}
	no := [][]string{{"-h", "x", "-d", "2"}, {"--leader-crash=false"}, {"-h", "c"}, {"--", "-c", "4"}}
	for _, a := range yes {
		if !mayCrash(a, nil) {
			t.Errorf("mayCrash(%q) = false", a)
		}
	}
	for _, a := range no {
		if mayCrash(a, nil) {
			t.Errorf("mayCrash(%q) = true", a)
		}
	}
	if !mayCrash(nil, []string{"ROSTER_CRASH_AFTER=3"}) || mayCrash(nil, []string{"ROSTER_CRASH_AFTER=0"}) {
		t.Error("mayCrash ignores ROSTER_CRASH_AFTER")
	}
}

func TestPeerArgs(t *testing.T) {
	svc := Service{Name: "s1", Peer: "one", Args: []string{"-h", "hosts.txt", "-c", "4"}}
	ep := Endpoint{Peer: "one", IP: "127.1.2.11", RaftPort: 1, GossipPort: 2, APIPort: 3}
	got := peerArgs(svc, "/r/hosts", ep, "/r/data/s1")
	want := []string{"-h", "/r/hosts", "-c", "4", "--name", "one", "--bind", "127.1.2.11",
		"--raft-port", "1", "--gossip-port", "2", "--api-port", "3", "--data-dir", "/r/data/s1"}
	if !slices.Equal(got, want) {
		t.Errorf("peerArgs = %q\nwant %q", got, want)
	}
	if svc.Args[1] != "hosts.txt" {
		t.Error("peerArgs modified the service's args")
	}
}
