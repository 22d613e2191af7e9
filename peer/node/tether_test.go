package node

import (
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"roster/peer/netguard"
)

// TestTetherCut: a tether the dialing side closes (its process died, as far
// as the accepting side can tell) reports the sender's id once; a tether
// the accepting side's own Close cuts reports nothing; a tether never
// reaches Raft (Accept).
func TestTetherCut(t *testing.T) {
	cuts := make(chan string, 4)
	one := testStream(t, "1")
	one.cfg.OnCut = func(id string) { cuts <- id }
	dialer := testStream(t, "2")
	addr := one.ln.Addr().String()

	c, err := dialer.DialTether(addr, "2", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitTethers(t, one, 1)
	c.Close()
	select {
	case id := <-cuts:
		if id != "2" {
			t.Fatalf("cut reported for %q, want 2", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no cut reported within 10 s of the dialer's close")
	}

	if _, err := dialer.DialTether(addr, "2", time.Second); err != nil {
		t.Fatal(err)
	}
	waitTethers(t, one, 1)
	accepted := make(chan struct{})
	go func() {
		if c, err := one.Accept(); err == nil {
			c.Close()
			close(accepted)
		}
	}()
	one.Close()
	select {
	case id := <-cuts:
		t.Fatalf("cut reported for %q after this side's own Close", id)
	case <-accepted:
		t.Fatal("a tether reached Accept")
	case <-time.After(200 * time.Millisecond):
	}
}

// TestTetherBadPreamble: a tether whose sender id is malformed is closed
// and reports nothing.
func TestTetherBadPreamble(t *testing.T) {
	cuts := make(chan string, 1)
	one := testStream(t, "1")
	one.cfg.OnCut = func(id string) { cuts <- id }
	one.cfg.Log = netguard.NewRateLog(hclog.NewNullLogger())
	t.Cleanup(one.cfg.Log.Close)
	dialer := testStream(t, "2")
	c, err := dialer.dial(one.ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{'T', 0})
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the accepting side kept a tether with an empty sender id")
	}
	select {
	case id := <-cuts:
		t.Fatalf("cut reported for %q", id)
	default:
	}
}

// waitTethers waits until s holds n accepted tethers.
func waitTethers(t *testing.T, s *stream, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		got := len(s.tethers)
		s.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d tethers held after 10 s, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
