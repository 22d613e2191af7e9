package detector

import (
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestStarvedRound(t *testing.T) {
	d := &Detector{probeTimeout: 300 * time.Millisecond, log: hclog.NewNullLogger()}
	now := time.Now()
	if d.starvedRound("p2", now.Add(-300*time.Millisecond)) {
		t.Fatal("a round that took the probe timeout counts as starved")
	}
	if !d.starvedRound("p2", now.Add(-time.Second)) {
		t.Fatal("a round that took a second past a 300 ms timeout counts")
	}
}
