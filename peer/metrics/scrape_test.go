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

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"roster/internal/testkit"
	"roster/peer/api"
	"roster/peer/config"
	"roster/peer/hostsfile"
	"roster/peer/node"
)

// TestScrapePeer starts two real peers on loopback, waits for them to share
// a view, has two clients join a group and one of them die, scrapes the
// first peer's /v1/metrics?format=prometheus over HTTP and parses it with
// the Prometheus text parser: roster's own metrics say what the peer holds
// (the view, the group's size, the expiration), and memberlist's, Raft's and
// raft-boltdb's metrics arrived through go-metrics.
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
			ClientInterval: 100 * time.Millisecond, ClientMisses: 2,
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
	addr := net.JoinHostPort(subnet+".1", "17082")
	expireOne(t, addr)

	c := api.Client{Addr: addr}
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
	// The group "jobs" holds c1; c2 expired.
	if v := gauge("roster_groups"); v != 1 {
		t.Errorf("roster_groups = %v, want 1", v)
	}
	if v := gauge("roster_group_clients"); v != 1 {
		t.Errorf("roster_group_clients = %v, want 1", v)
	}
	if v := labelled(t, fams, "roster_group_members", "group", "jobs").GetGauge().GetValue(); v != 1 {
		t.Errorf(`roster_group_members{group="jobs"} = %v, want 1`, v)
	}
	if v := labelled(t, fams, "roster_group_expirations_total", "group", "jobs").GetCounter().GetValue(); v != 1 {
		t.Errorf(`roster_group_expirations_total{group="jobs"} = %v, want 1`, v)
	}
	if f := fams["roster_client_expirations_total"]; f == nil || f.GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Errorf("roster_client_expirations_total = %v, want 1", f)
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

// expireOne has clients c1 and c2 join group "jobs" through the peer at
// addr, each with a check address that answers, then closes c2's: it
// returns once the peer no longer holds c2.
func expireOne(t *testing.T, addr string) {
	t.Helper()
	ctx := context.Background()
	gc := &api.GroupsClient{Addrs: []string{addr}}
	var c2 net.Listener
	for _, id := range []string{"c1", "c2"} {
		ln := testkit.ClosingListener(t)
		if _, err := gc.Join(ctx, "jobs", api.JoinRequest{Client: id, Addr: ln.Addr().String()}); err != nil {
			t.Fatalf("join %s: %v", id, err)
		}
		c2 = ln
	}
	c2.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		g, err := gc.Group(ctx, "jobs", api.ReadQuery{})
		if err == nil && slices.Equal(g.Clients(), []string{"c1"}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("c2 not removed within 20s: %+v, %v", g, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// labelled returns the one sample of family name whose label key is value.
func labelled(t *testing.T, fams map[string]*dto.MetricFamily, name, key, value string) *dto.Metric {
	t.Helper()
	for _, m := range fams[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == key && l.GetValue() == value {
				return m
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, key, value)
	return nil
}
