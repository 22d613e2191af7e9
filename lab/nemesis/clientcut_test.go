package nemesis_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"roster/internal/testkit"
	"roster/lab/fault"
	"roster/lab/groupload"
	"roster/lab/labtest"
	"roster/lab/nemesis"
	"roster/peer/api"
)

// cut-client on real peers: the client's owner can no longer check it,
// the other peers still reach it, so it stays; once every peer is cut off
// from it, it is removed; heal-client takes every cut away.
func TestCutClientOnRealPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts peer processes")
	}
	_, bin := labtest.BuildRoster(t)
	ctx := context.Background()
	const interval = 300 * time.Millisecond
	cl, err := groupload.StartCluster(ctx, groupload.ClusterOptions{Peers: 3, Roster: bin,
		PeerArgs: []string{"--faults", "--client-interval", interval.String(), "--client-misses", "3"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Stop() })
	var targets []nemesis.Target
	for i, a := range cl.Addrs() {
		targets = append(targets, nemesis.Target{Name: cl.Name(i), ID: i + 1, API: a})
	}
	peers, err := nemesis.NewPeers(targets)
	if err != nil {
		t.Fatal(err)
	}
	r := &nemesis.Runner{Peers: peers, Retry: 5 * time.Second}

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	gc := &api.GroupsClient{Addrs: cl.Addrs(), Timeout: 5 * time.Second}
	joined, err := gc.Join(ctx, "jobs", api.JoinRequest{Client: "c1", Addr: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	// member reads c1's membership; a read that fails (a 503 while the
	// peers are busy) is tried again within a deadline: it says nothing
	// about the client.
	member := func() (api.Member, bool) {
		var g api.GroupResponse
		var err error
		testkit.WaitFor(t, 20*time.Second, func() bool {
			g, err = gc.Group(ctx, "jobs", api.ReadQuery{Consistent: true})
			return err == nil || api.IsNotFound(err)
		}, func() string { return fmt.Sprintf("reading the group: %v", err) })
		if err != nil {
			return api.Member{}, false
		}
		i := slices.IndexFunc(g.Members, func(m api.Member) bool { return m.Client == "c1" })
		if i < 0 {
			return api.Member{}, false
		}
		return g.Members[i], true
	}

	res := r.Do(ctx, nemesis.Action{Kind: nemesis.CutClient, Group: "jobs", Client: "c1"})
	if res.Err() != nil || len(res.OK) != 1 {
		t.Fatalf("cut-client: %v", res)
	}
	m, _ := member()
	owner := targets[m.Owner-1]
	if res.OK[0] != owner.Name {
		t.Errorf("cut-client acted on %s, the owner is %s", res.OK[0], owner.Name)
	}
	st, err := fault.Client{BaseURL: "http://" + owner.API}.Get(ctx)
	if err != nil || len(st.Rules) != 1 || !slices.Equal(st.Rules[0].Clients, []string{m.Addr}) || !st.Rules[0].Block {
		t.Fatalf("the owner's faults: %+v, %v; want one rule blocking %s", st, err, m.Addr)
	}
	// Ten intervals: far more than three missed checks.
	time.Sleep(10 * interval)
	if m, ok := member(); !ok || m.Incarnation != joined.Incarnation {
		t.Fatalf("a client cut off from its owner only was removed (or replaced): %+v, %v", m, ok)
	}

	// Cut it off from everyone: then it is removed.
	for _, tg := range targets {
		c := fault.Client{BaseURL: "http://" + tg.API}
		if _, err := c.Set(ctx, fault.State{Rules: []fault.Rule{{Clients: []string{m.Addr}, Block: true}}}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(3*interval + 5*time.Second)
	for {
		if _, ok := member(); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a client no peer can reach is still a member")
		}
		time.Sleep(50 * time.Millisecond)
	}

	res = r.Do(ctx, nemesis.Action{Kind: nemesis.HealClient, Group: "jobs", Client: "c1"})
	if res.Err() != nil || len(res.OK) != len(targets) {
		t.Fatalf("heal-client: %v", res)
	}
	for _, tg := range targets {
		st, err := fault.Client{BaseURL: "http://" + tg.API}.Get(ctx)
		if err != nil || len(st.Rules) != 0 {
			t.Errorf("%s after heal-client: %+v, %v", tg.Name, st.Rules, err)
		}
	}
}
