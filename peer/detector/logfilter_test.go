package detector

import (
	"bytes"
	"log"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestLogFilterDemotesRoutineComplaints(t *testing.T) {
	var out bytes.Buffer
	hl := hclog.New(&hclog.LoggerOptions{Name: "one", Level: hclog.Debug, Output: &out, DisableTime: true})
	l := log.New(shutdownFilter{logFilter{hl.Named("memberlist").StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true})}}, "", 0)
	l.Printf("[ERR] memberlist: Push/Pull with two failed: dial tcp 10.0.0.2:8081: i/o timeout")
	l.Printf("[WARN] memberlist: Refuting a suspect message (from: three)")
	l.Printf("[ERR] memberlist: Failed to decode ping: bad %s", "from=10.0.0.9:1")
	l.Printf("[INFO] memberlist: Suspect two has failed, no acks received")
	l.Printf("[ERR] memberlist: Error accepting TCP connection: use of closed network connection")
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"[DEBUG] one.memberlist: memberlist: Push/Pull with two failed: dial tcp 10.0.0.2:8081: i/o timeout",
		"[DEBUG] one.memberlist: memberlist: Refuting a suspect message (from: three)",
		"[ERROR] one.memberlist: memberlist: Failed to decode ping: bad from=10.0.0.9:1",
		"[INFO]  one.memberlist: memberlist: Suspect two has failed, no acks received",
	}
	if len(got) != len(want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %q, want %q", i, got[i], want[i])
		}
	}
}
