package fault

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"roster/internal/testkit"
)

// listenOn opens a TCP listener on ip that accepts and closes connections.
func listenOn(t *testing.T, ip string) string {
	t.Helper()
	return testkit.ClosingListenerAt(t, ip).Addr().String()
}

func TestWrapDialClientRules(t *testing.T) {
	const subnet = 41
	needLoopbackIP(t, peerIP(subnet, 1))
	inj := New(Options{Self: 1, Resolver: resolverFor(subnet, 3), Seed: 1})
	dial := inj.WrapDial(nil)
	ctx := context.Background()
	cut, other := listenOn(t, "127.0.0.1"), listenOn(t, "127.0.0.1")
	peer2 := listenOn(t, peerIP(subnet, 2))
	try := func(addr string) error {
		c, err := dial(ctx, "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, a := range []string{cut, other, peer2} {
		if err := try(a); err != nil {
			t.Fatalf("dial %s with no faults: %v", a, err)
		}
	}

	// A rule naming one client's address refuses the dials to it only.
	if err := inj.SetRules([]Rule{{Clients: []string{cut}, Block: true}}); err != nil {
		t.Fatal(err)
	}
	var fe *Error
	if err := try(cut); !errors.As(err, &fe) || fe.Reason != "blocked" {
		t.Errorf("dial to the cut client: %v, want blocked", err)
	}
	if err := try(other); err != nil {
		t.Errorf("dial to another client: %v", err)
	}
	if err := try(peer2); err != nil {
		t.Errorf("dial to peer 2: %v (a client rule must not touch peers)", err)
	}
	if inj.blocked(2, Both, Raft) {
		t.Error("a client rule blocks Raft traffic with peer 2")
	}

	// A host names every port of it.
	if err := inj.SetRules([]Rule{{Clients: []string{"127.0.0.1"}, Block: true}}); err != nil {
		t.Fatal(err)
	}
	if try(cut) == nil || try(other) == nil {
		t.Error("a rule naming host 127.0.0.1 let a dial to it through")
	}

	// A delay holds the dial back.
	if err := inj.SetRules([]Rule{{Clients: []string{other}, Delay: Duration(80 * time.Millisecond)}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := try(other); err != nil || time.Since(start) < 80*time.Millisecond {
		t.Errorf("delayed dial: %v after %v, want success after 80ms", err, time.Since(start))
	}

	// Peers: a partition refuses the groups' dials to the other side
	// (scope api) and a live connection with it is closed.
	inj.Clear()
	c, err := dial(ctx, "tcp", peer2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := inj.SetPartition([][]int{{1}, {2, 3}}); err != nil {
		t.Fatal(err)
	}
	if err := try(peer2); !errors.As(err, &fe) || fe.Peer != 2 {
		t.Errorf("dial across the partition: %v, want refused naming peer 2", err)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Error("a connection across the partition survived it")
	}
	if err := try(cut); err != nil {
		t.Errorf("dial to a client during a partition of peers: %v", err)
	}

	// A pause refuses everything.
	inj.Clear()
	inj.Pause(time.Minute)
	if try(cut) == nil || try(peer2) == nil {
		t.Error("a dial went through a pause")
	}
}

// The groups' dials leave from the peer's own address.
func TestWrapDialFromLocalIP(t *testing.T) {
	const subnet = 42
	needLoopbackIP(t, peerIP(subnet, 1))
	inj := New(Options{Self: 1, Resolver: resolverFor(subnet, 2), LocalIP: net.ParseIP(peerIP(subnet, 1))})
	ln, err := net.Listen("tcp", net.JoinHostPort(peerIP(subnet, 2), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	from := make(chan string, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			c.Close()
		}
	}()
	c, err := inj.WrapDial(nil)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := <-from; got != peerIP(subnet, 1) {
		t.Errorf("dialled from %s, want %s", got, peerIP(subnet, 1))
	}
}

func TestClientRuleValidation(t *testing.T) {
	if err := (Rule{Clients: []string{" "}, Block: true}).Validate(); err == nil || !strings.Contains(err.Error(), "clients[0]") {
		t.Errorf("an empty client address: %v", err)
	}
	if err := (Rule{Scope: API, Block: true}).Validate(); err != nil {
		t.Errorf("scope api: %v", err)
	}
	if got := describeRules([]Rule{{Clients: []string{"h:1"}, Block: true}}); !strings.Contains(got, "checks of clients [h:1]: block") {
		t.Errorf("describeRules = %q", got)
	}
}
