package node

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"roster/peer/hostsfile"
	"roster/peer/identity"
	"roster/peer/netguard"
	"roster/peer/raftpeer"
)

// testStream listens on 127.0.0.1 as peer self.
func testStream(t *testing.T, self string) *stream {
	t.Helper()
	hf, err := hostsfile.Parse("test", strings.NewReader("p1 127.0.0.1\np2 127.0.0.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	log := netguard.NewRateLog(hclog.NewNullLogger())
	t.Cleanup(log.Close)
	s, err := listenStream(streamConfig{Bind: "127.0.0.1:0", Self: self, Resolver: identity.New(hf, nil), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStreamRefusesMisdirected: a connection dialed for peer 2 at peer 1's
// address (peer 2's old address, say) is refused before Raft reads a
// request; one dialed for peer 1 carries its requests.
func TestStreamRefusesMisdirected(t *testing.T) {
	one, dialer := testStream(t, "1"), testStream(t, "3")
	addr := one.ln.Addr().String()
	vote := encodeRPC(t, rpcRequestVote, &raft.RequestVoteRequest{RPCHeader: raft.RPCHeader{ID: []byte("3")}, Term: 8})

	read := func(target string) ([]byte, error) {
		c, err := dialer.Dial(raft.ServerAddress(raftpeer.Tag(target, addr)), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(vote); err != nil {
			t.Fatal(err)
		}
		in, err := one.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		in.SetReadDeadline(time.Now().Add(5 * time.Second))
		got := make([]byte, len(vote))
		_, err = io.ReadFull(in, got)
		return got, err
	}
	if got, err := read("1"); err != nil || string(got) != string(vote) {
		t.Fatalf("meant for 1: read %d bytes, %v; want the request", len(got), err)
	}
	if _, err := read("2"); !errors.Is(err, raftpeer.ErrMisdirected) {
		t.Fatalf("meant for 2, at 1: %v, want ErrMisdirected", err)
	}
}

// TestStreamDropMoved: the connections dialed for a peer at its old address
// are closed when it moves; those at its new address and to others stay.
func TestStreamDropMoved(t *testing.T) {
	one, dialer := testStream(t, "1"), testStream(t, "3")
	addr := one.ln.Addr().String()
	held := make(chan net.Conn, 16)
	go func() { // accept and hold what comes, until the stream closes
		for {
			c, err := one.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- c
		}
	}()
	t.Cleanup(func() {
		one.Close()
		for c := range held {
			c.Close()
		}
	})
	dial := func(target string) net.Conn {
		c, err := dialer.Dial(raft.ServerAddress(raftpeer.Tag(target, addr)), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	old, other := dial("1"), dial("2")
	dialer.DropMoved("1", "127.0.0.9:8080") // peer 1 is elsewhere now
	if _, err := old.Write([]byte{0}); err == nil {
		t.Error("the connection to peer 1's old address is still open")
	}
	if _, err := other.Write([]byte{0}); err != nil {
		t.Errorf("a connection to another peer was closed: %v", err)
	}
	kept := dial("1")
	dialer.DropMoved("1", addr) // peer 1 is where it was dialed
	if _, err := kept.Write([]byte{0}); err != nil {
		t.Errorf("a connection to peer 1's current address was closed: %v", err)
	}
}
