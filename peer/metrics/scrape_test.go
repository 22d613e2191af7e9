package metrics_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"roster/peer/api"
	"roster/peer/config"
	"roster/peer/hostsfile"
	"roster/peer/node"
)

// TestScrapePeer starts two real peers on loopback, waits for them to share
// a view, scrapes the first one's /v1/metrics?format=prometheus over HTTP and
// parses it with the Prometheus text parser: roster's own metrics say what
// the peer holds, and memberlist's, Raft's and raft-boltdb's metrics arrived
// through go-metrics.
func TestScrapePeer(t *testing.T) {
	subnet := fmt.Sprintf("127.%d.%d", 1+rand.IntN(250), 1+rand.IntN(250))
	hf, err := hostsfile.Parse("hosts", strings.NewReader(fmt.Sprintf("one %s.1\ntwo %s.2\n", subnet, subnet)))
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*node.Node
	for _, p := range hf.Peers {
		n, err := node.Start(config.Config{
			Name: p.Name, Hosts: hf, Bind: p.Host,
			RaftPort: 17080, GossipPort: 17081, APIPort: 17082,
			DataDir: t.TempDir(), Voters: config.DefaultVoters, LogLevel: "off",
			ViewLog: io.Discard, DiagLog: io.Discard,
		}, node.Options{})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
		t.Cleanup(n.Close)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !slices.Equal(nodes[0].View().Members, []int{1, 2}) || !slices.Equal(nodes[1].View().Members, []int{1, 2}) {
		if time.Now().After(deadline) {
			t.Fatalf("no view [1,2] within 20s: %+v, %+v", nodes[0].View(), nodes[1].View())
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := nodes[0].View()

	c := api.Client{Addr: net.JoinHostPort(subnet+".1", "17082")}
	body, _, err := c.Get(context.Background(), "/v1/metrics?format=prometheus")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("the Prometheus text parser: %v\n%s", err, body)
	}
	gauge := func(name string) float64 {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) != 1 {
			t.Fatalf("no single %s", name)
		}
		return f.GetMetric()[0].GetGauge().GetValue()
	}
	if v := gauge("roster_view_id"); v < float64(want.ID) {
		t.Errorf("roster_view_id = %v, want at least %d", v, want.ID)
	}
	if v := gauge("roster_view_members"); v != 2 {
		t.Errorf("roster_view_members = %v, want 2", v)
	}
	if v := gauge("roster_raft_leader"); v != float64(want.Leader) {
		t.Errorf("roster_raft_leader = %v, want %d", v, want.Leader)
	}
	if f := fams["roster_leader_changes_total"]; f == nil || f.GetMetric()[0].GetCounter().GetValue() < 1 {
		t.Errorf("roster_leader_changes_total = %v, want at least 1", f)
	}
	if f := fams["roster_reconcile_steps_total"]; f == nil || len(f.GetMetric()) == 0 {
		t.Errorf("no reconcile steps counted on the leader (peer 1)")
	}
	// What the libraries report (through go-metrics' compat package).
	for _, prefix := range []string{"memberlist_", "raft_", "raft_boltdb_", "process_", "go_"} {
		found := false
		for name := range fams {
			found = found || strings.HasPrefix(name, prefix)
		}
		if !found {
			t.Errorf("no metric named %s*", prefix)
		}
	}
	if _, err := nodes[0].Metrics().Gatherer().Gather(); err != nil {
		t.Errorf("gathering: %v", err)
	}
}
