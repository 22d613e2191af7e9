package node

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roster/peer/config"
	"roster/peer/hostsfile"
)

func TestPeerIDFile(t *testing.T) {
	dir := t.TempDir()
	if id, err := readPeerID(dir, "a"); id != 0 || err != nil {
		t.Fatalf("no file: %d %v", id, err)
	}
	if err := writePeerID(dir, "a", 7); err != nil {
		t.Fatal(err)
	}
	if id, err := readPeerID(dir, "a"); id != 7 || err != nil {
		t.Fatalf("read back: %d %v", id, err)
	}
	if _, err := readPeerID(dir, "b"); err == nil || !strings.Contains(err.Error(), "belongs to peer a (id 7), not b") {
		t.Fatalf("another name: %v", err)
	}
	for _, bad := range []string{"a", "a x", "a 0", "a 1 2", "bad/name 3"} {
		os.WriteFile(filepath.Join(dir, idFile), []byte(bad), 0o644)
		var se *StoreError
		if _, err := readPeerID(dir, "a"); !errors.As(err, &se) || !se.Corrupt {
			t.Errorf("file %q: %v, want a corrupt store error", bad, err)
		}
	}
}

// TestDataDirsOfHostsfilePeers: a data dir made by a hostsfile peer (no
// peer-id file) still works for it, and stops a peer outside the hostsfile
// with one line; a hostsfile peer whose data dir keeps another id stops too.
func TestDataDirsOfHostsfilePeers(t *testing.T) {
	ip := fmt.Sprintf("127.%d.%d.1", 20+rand.IntN(200), 1+rand.IntN(250))
	hosts, err := hostsfile.Parse("hosts", strings.NewReader("p1 "+ip+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := &lockedBuffer{}
	cfg := config.Config{
		Name: "p1", Hosts: hosts, Bind: ip, RaftPort: 17280, GossipPort: 17281,
		Voters: 5, LogLevel: "off", ViewLog: out, DiagLog: os.Stderr, DataDir: dir,
	}
	start := func(c config.Config) (*Node, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return StartContext(ctx, c, Options{})
	}
	nd, err := start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitLine(t, out, "memb_list: [1]}", "peer 1's first view")
	nd.Close()
	// The same peer again: it keeps working.
	if nd, err = start(cfg); err != nil {
		t.Fatalf("restart of a hostsfile peer on its data dir: %v", err)
	}
	nd.Close()

	joiner := cfg
	joiner.Name, joiner.Join = "stranger", []string{ip}
	_, err = start(joiner)
	if err == nil || !strings.Contains(err.Error(), "holds Raft state but no peer-id file") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("a joiner on a hostsfile peer's data dir: %v", err)
	}
	if err := writePeerID(dir, "p1", 4); err != nil {
		t.Fatal(err)
	}
	_, err = start(cfg)
	if err == nil || !strings.Contains(err.Error(), "holds peer id 4, but p1 is on line 1") {
		t.Fatalf("a hostsfile peer on a data dir of id 4: %v", err)
	}
}
