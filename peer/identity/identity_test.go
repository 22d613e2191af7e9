package identity

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/peer/hostsfile"
)

// TestOwns: the address column wins; names resolve fresh, so a peer that
// moves is recognised at its new address (and no longer at its old one)
// as soon as its name resolves there.
func TestOwns(t *testing.T) {
	hf, err := hostsfile.Parse("hosts", strings.NewReader("one 10.0.0.1\ntwo\n"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	addr := "10.0.0.2"
	lookups := 0
	r := New(hf, func(_ context.Context, name string) ([]net.IP, error) {
		mu.Lock()
		defer mu.Unlock()
		lookups++
		if name != "two" || addr == "" {
			return nil, errors.New("no such host")
		}
		return []net.IP{net.ParseIP(addr)}, nil
	})
	ip := net.ParseIP
	if !r.Owns(1, ip("10.0.0.1")) || r.Owns(1, ip("10.0.0.2")) {
		t.Error("address column not followed")
	}
	if !r.Owns(2, ip("10.0.0.2")) || r.Owns(2, ip("10.0.0.9")) {
		t.Error("name not resolved")
	}
	if got := r.PeersAt(ip("10.0.0.2")); len(got) != 1 || got[0] != 2 {
		t.Errorf("PeersAt = %v, want [2]", got)
	}
	mu.Lock()
	addr = "10.0.0.3" // two moves
	mu.Unlock()
	deadline := time.Now().Add(3 * recheck)
	for !r.Owns(2, ip("10.0.0.3")) {
		if time.Now().After(deadline) {
			t.Fatal("the new address was never recognised")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.Owns(2, ip("10.0.0.2")) {
		t.Error("the old address is still two's")
	}
	mu.Lock()
	n := lookups
	mu.Unlock()
	if n > 10 {
		t.Errorf("%d lookups: the cache does not hold", n)
	}
}

// TestOwnsDNSAddressColumn: a DNS name in the address column (a Kubernetes
// pod behind a headless service) is what is resolved, not the peer's name.
func TestOwnsDNSAddressColumn(t *testing.T) {
	hf, err := hostsfile.Parse("hosts", strings.NewReader("roster-0 roster-0.roster\nroster-1 roster-1.roster\n"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var asked []string
	r := New(hf, func(_ context.Context, name string) ([]net.IP, error) {
		mu.Lock()
		asked = append(asked, name)
		mu.Unlock()
		switch name {
		case "roster-0.roster":
			return []net.IP{net.ParseIP("10.244.0.5")}, nil
		case "roster-1.roster":
			return []net.IP{net.ParseIP("10.244.1.9")}, nil
		}
		return nil, errors.New("no such host")
	})
	if !r.Owns(1, net.ParseIP("10.244.0.5")) || r.Owns(1, net.ParseIP("10.244.1.9")) {
		t.Error("peer 1 not recognised at what its address column resolves to")
	}
	if got := r.Addrs(2); len(got) != 1 || !got[0].Equal(net.ParseIP("10.244.1.9")) {
		t.Errorf("Addrs(2) = %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, n := range asked {
		if n == "roster-0" || n == "roster-1" {
			t.Errorf("looked up the peer name %q instead of its address column", n)
		}
	}
}
