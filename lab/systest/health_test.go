package systest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/internal/testkit"
	"roster/lab/faultnode"
	"roster/lab/localcluster"
	"roster/peer/api"
	"roster/peer/config"
)

// apiOf returns a client of peer id's HTTP API.
func apiOf(c *cluster, id int, token string) api.Client {
	return api.Client{Addr: net.JoinHostPort(c.Addr(id), strconv.Itoa(localcluster.APIPort)), Token: token}
}

// waitReady waits until peer id's /ready says want, and returns its answer.
func waitReady(t *testing.T, c *cluster, id int, want bool, timeout time.Duration) api.Health {
	t.Helper()
	var h api.Health
	var err error
	testkit.WaitFor(t, timeout, func() bool {
		h, err = apiOf(c, id, "").Ready(context.Background())
		return h.ID == id && h.OK == want && (err == nil) == want
	}, func() string {
		return "peer " + strconv.Itoa(id) + " /ready: want ok=" + strconv.FormatBool(want) + ", got " + h.String() + " (" + errString(err) + ")"
	})
	return h
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestReadyFollowsLeader: a peer alone is live but not ready (no leader);
// it turns ready once it is in a cluster with a leader, unready when the
// cluster loses its quorum, and ready again when the quorum is back.
func TestReadyFollowsLeader(t *testing.T) {
	c := newCluster(t, 3)
	c.start(2)
	h := waitReady(t, c, 2, false, 10*time.Second)
	if r := strings.Join(h.Reasons(), "; "); !strings.Contains(r, "leader: no leader known") {
		t.Fatalf("peer 2 alone: reasons %q, want no leader known", r)
	}
	if _, err := apiOf(c, 2, "").Live(context.Background()); err != nil {
		t.Fatalf("peer 2 alone is not live: %v", err)
	}
	c.start(1)
	c.waitView([]int{1, 2}, 10*time.Second)
	c.start(3)
	c.waitView(ids(1, 3), 10*time.Second)
	c.waitVoters(ids(1, 3), ids(1, 3), 15*time.Second) // two voters of two could elect nobody below
	waitReady(t, c, 2, true, 10*time.Second)

	// Two of three voters gone: no leader can be elected.
	c.Crash(1)
	c.Crash(3)
	h = waitReady(t, c, 2, false, 10*time.Second)
	if r := strings.Join(h.Reasons(), "; "); !strings.Contains(r, "leader") {
		t.Fatalf("peer 2 without a quorum: reasons %q, want the leader checks", r)
	}
	c.start(3) // its data dir: the quorum is back
	c.waitView([]int{2, 3}, 15*time.Second)
	waitReady(t, c, 2, true, 10*time.Second)
	waitReady(t, c, 3, true, 10*time.Second)
}

const labToken = "systest-token-0123456789"

// TestFaultAPINeedsToken: with a token set, the fault API (mounted by the
// lab through node.Options.Handlers) refuses a pause without it, and
// takes it with it; reads stay open.
func TestFaultAPINeedsToken(t *testing.T) {
	c := newCluster(t, 1)
	c.Configure = func(id int, cfg *config.Config) { cfg.APIToken = labToken }
	c.Faults = func(int) (faultnode.Options, bool) { return faultnode.Options{API: true}, true }
	c.start(1)
	c.waitView([]int{1}, 10*time.Second)
	base := "http://" + apiOf(c, 1, "").Addr
	send := func(method, path, token string) int {
		req, _ := http.NewRequest(method, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	paused := func() bool { return c.FaultPeer(1).Injector().Status().PausedUntil != nil }
	for _, tok := range []string{"", "not-the-token-0123456789"} {
		if code := send("POST", "/faults/pause?for=876000h", tok); code != http.StatusUnauthorized {
			t.Fatalf("POST /faults/pause with token %q: %d, want 401", tok, code)
		}
		if code := send("PUT", "/faults", tok); code != http.StatusUnauthorized {
			t.Fatalf("PUT /faults with token %q: %d, want 401", tok, code)
		}
	}
	if paused() {
		t.Fatal("a pause without the token was applied")
	}
	if code := send("GET", "/faults", ""); code != http.StatusOK {
		t.Fatalf("GET /faults: %d, want 200 (reads stay open)", code)
	}
	if code := send("POST", "/faults/pause?for=10s", labToken); code != http.StatusOK || !paused() {
		t.Fatalf("POST /faults/pause with the token: %d, paused %v", code, paused())
	}
	if code := send("DELETE", "/faults/pause", labToken); code != http.StatusOK || paused() {
		t.Fatalf("DELETE /faults/pause with the token: %d, paused %v", code, paused())
	}
}

// TestGroupsNeedToken: with a token set, a join without it is refused (401)
// while reads stay open; a join with it through a follower is forwarded to
// the leader; and the owners' own requests to other peers (a removal of
// clients that stopped answering) carry the peers' token, so the removals
// commit wherever the owners are.
func TestGroupsNeedToken(t *testing.T) {
	c := newCluster(t, 3)
	c.Configure = func(id int, cfg *config.Config) {
		cfg.APIToken = labToken
		cfg.ClientInterval, cfg.ClientMisses = 200*time.Millisecond, 2
	}
	c.startAll(3)
	follower := 2
	if c.Node(2).IsLeader() {
		follower = 3
	}
	addr := apiOf(c, follower, "").Addr
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := &api.GroupsClient{Addrs: []string{addr}}
	if _, err := open.Join(ctx, "jobs", api.JoinRequest{Client: "c0", Addr: ln.Addr().String()}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("join without the token: %v, want 401", err)
	}
	withToken := &api.GroupsClient{Addrs: []string{addr}, Header: http.Header{"Authorization": {"Bearer " + labToken}}}
	const clients = 6
	for i := range clients {
		if _, err := withToken.Join(ctx, "jobs", api.JoinRequest{Client: "c" + strconv.Itoa(i), Addr: ln.Addr().String()}); err != nil {
			t.Fatalf("join with the token through follower %d: %v", follower, err)
		}
	}
	g, err := open.Group(ctx, "jobs", api.ReadQuery{Consistent: true})
	if err != nil || len(g.Members) != clients {
		t.Fatalf("read without the token: %+v, %v; want %d members", g, err, clients)
	}
	ln.Close() // every client stops answering: each owner removes its own
	testkit.WaitFor(t, 20*time.Second, func() bool {
		g, err = open.Group(ctx, "jobs", api.ReadQuery{Consistent: true})
		return api.IsNotFound(err) || err == nil && len(g.Members) == 0 // an empty group is gone
	}, func() string { return fmt.Sprintf("clients left in the group: %+v (%v)", g.Members, err) })
}
