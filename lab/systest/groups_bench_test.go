package systest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/lab/labtest"
	"roster/lab/localcluster"
	"roster/lab/stats"
	"roster/peer/api"
	"roster/peer/config"
)

// The groups measurements. Run them one at a time, once:
//
//	go test ./lab/systest -run '^$' -bench BenchmarkGroupJoinThroughFollower -benchtime 2000x
//	go test ./lab/systest -run '^$' -bench BenchmarkGroupJoinBurst -benchtime 3x
//	go test ./lab/systest -run '^$' -bench BenchmarkGroupOwnerCPU -benchtime 1x -timeout 10m

// benchCluster starts n in-process peers for a benchmark and waits for
// them to share one view.
func benchCluster(b *testing.B, n int) *localcluster.Cluster {
	b.Helper()
	lc, err := localcluster.New(b.TempDir(), n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(lc.Close)
	for id := 1; id <= n; id++ {
		if err := lc.Start(id); err != nil {
			b.Fatal(err)
		}
		if _, err := lc.WaitView(localcluster.Ids(1, id), 15*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	return lc
}

func percentiles(b *testing.B, ds []time.Duration) {
	b.Helper()
	s := stats.Of(ds)
	b.ReportMetric(s.MedianMs, "p50-ms")
	b.ReportMetric(s.P99Ms, "p99-ms")
	b.ReportMetric(s.MaxMs, "max-ms")
}

// BenchmarkGroupJoinThroughFollower: five peers; one join at a time through
// a follower's API, each answered after the commit (and after the follower
// applied it). Reports p50/p99/max in milliseconds.
func BenchmarkGroupJoinThroughFollower(b *testing.B) {
	lc := benchCluster(b, 5)
	follower := 2
	for id := 2; id <= 5; id++ {
		if !lc.Node(id).IsLeader() {
			follower = id
			break
		}
	}
	gc := &api.GroupsClient{Addrs: []string{lc.Node(follower).APIAddr().String()}}
	ctx := context.Background()
	for i := range 50 { // warm the connections up
		gc.Join(ctx, "warm", api.JoinRequest{Client: fmt.Sprintf("w%d", i), Addr: "127.0.0.1:1"})
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := gc.Join(ctx, "jobs", api.JoinRequest{Client: fmt.Sprintf("c%d", i), Addr: "127.0.0.1:1"}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	percentiles(b, lat)
}

// fromIP returns an HTTP client whose connections come from loopback
// address number i (127.0.x.y): a peer's API admits 16 connections from one
// address, and real clients each have their own.
func fromIP(i int) *http.Client {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+i/250), byte(1+i%250))}
	return &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{LocalAddr: local}).DialContext}}
}

// joinRetrying joins, and joins again after a 503's Retry-After (a leader
// election on this loaded machine), as a client would, for up to 30 s.
func joinRetrying(ctx context.Context, gc *api.GroupsClient, group string, req api.JoinRequest) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := gc.Join(ctx, group, req)
		var he *api.HTTPError
		if err == nil || !errors.As(err, &he) || he.Code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return err
		}
		time.Sleep(he.RetryAfter)
	}
}

// BenchmarkGroupJoinBurst: five peers; 1,000 clients join one group at once,
// each from its own address through a random peer; the time from the start until every peer
// serves the group with all 1,000. Reports seconds per burst and the Raft
// entries the burst took.
func BenchmarkGroupJoinBurst(b *testing.B) {
	const clients = 1000
	lc := benchCluster(b, 5)
	var addrs []string
	for id := 1; id <= 5; id++ {
		addrs = append(addrs, lc.Node(id).APIAddr().String())
	}
	ctx := context.Background()
	hcs := make([]*http.Client, clients) // one address and connection per client
	for c := range hcs {
		hcs[c] = fromIP(c)
	}
	var took []time.Duration
	var entries []float64
	for i := 0; i < b.N; i++ {
		group := fmt.Sprintf("burst%d", i)
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				gc := &api.GroupsClient{Addrs: []string{addrs[rand.IntN(len(addrs))]}, HTTP: hcs[c]}
				if err := joinRetrying(ctx, gc, group, api.JoinRequest{Client: fmt.Sprintf("c%d", c), Addr: "127.0.0.1:1"}); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		var g api.GroupResponse
		for id := 1; id <= 5; id++ {
			for {
				var err error
				g, err = lc.Node(id).Groups().Group(ctx, group, api.ReadQuery{}, api.Origin{})
				if err == nil && len(g.Members) == clients {
					break
				}
				if time.Since(start) > time.Minute {
					b.Fatal("1,000 joins not at every peer after a minute")
				}
				time.Sleep(time.Millisecond)
			}
		}
		took = append(took, time.Since(start))
		// Each join's incarnation is the index of its entry.
		distinct := map[uint64]bool{}
		for _, m := range g.Members {
			distinct[m.Incarnation] = true
		}
		entries = append(entries, float64(len(distinct)))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "s-median")
	b.ReportMetric(took[len(took)-1].Seconds(), "s-max")
	b.ReportMetric(entries[len(entries)/2], "entries")
}

// BenchmarkGroupOwnerCPU: one real peer process owns 10,000 clients (each a
// listener in the test process) and checks each every 5 s (the default);
// reports the peer's CPU over 30 s of steady checking, as a share of one
// core, and the same peer's CPU with no clients.
func BenchmarkGroupOwnerCPU(b *testing.B) {
	const clients = 10000
	_, bin := labtest.BuildRoster(b)
	for i := 0; i < b.N; i++ {
		idle := ownerCPU(b, bin, 0)
		busy := ownerCPU(b, bin, clients)
		b.ReportMetric(idle*100, "idle-%core")
		b.ReportMetric(busy*100, "10k-%core")
	}
}

// ownerCPU starts a one-peer cluster, joins n clients, waits for two rounds
// of checks, and returns the peer's CPU share over the next 30 s.
func ownerCPU(b *testing.B, bin string, n int) float64 {
	b.Helper()
	dir := b.TempDir()
	ip := fmt.Sprintf("127.0.%d.%d", 50+rand.IntN(150), 1+rand.IntN(250))
	hosts := filepath.Join(dir, "hosts")
	if err := os.WriteFile(hosts, []byte("one "+ip+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-h", hosts, "--name", "one", "--bind", ip, "--data-dir", filepath.Join(dir, "data"), "--log-level", "error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	apiAddr := net.JoinHostPort(ip, strconv.Itoa(config.DefaultAPIPort))
	gc := &api.GroupsClient{Addrs: []string{apiAddr}, Timeout: 30 * time.Second}
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := gc.Groups(ctx, api.ReadQuery{}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the peer's API did not answer within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The clients: listeners that accept and close, spread over 10 groups.
	var wg sync.WaitGroup
	// 200 joins at once, each slot from an address of its own.
	slots := make(chan int, 200)
	for k := range cap(slots) {
		slots <- k
	}
	hcs := make([]*http.Client, cap(slots))
	for k := range hcs {
		hcs[k] = fromIP(k)
	}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
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
		wg.Add(1)
		k := <-slots
		go func() {
			defer wg.Done()
			defer func() { slots <- k }()
			jc := &api.GroupsClient{Addrs: gc.Addrs, HTTP: hcs[k], Timeout: gc.Timeout}
			if err := joinRetrying(ctx, jc, fmt.Sprintf("g%d", i%10), api.JoinRequest{Client: fmt.Sprintf("c%d", i), Addr: ln.Addr().String()}); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	time.Sleep(2 * config.DefaultClientInterval)
	list, err := gc.Groups(ctx, api.ReadQuery{})
	if err != nil {
		b.Fatal(err)
	}
	total := 0
	for _, g := range list.Groups {
		total += g.Size
	}
	if total != n {
		b.Fatalf("%d clients in the groups, want %d (some were removed)", total, n)
	}
	const window = 30 * time.Second
	t0 := procCPU(b, cmd.Process.Pid)
	time.Sleep(window)
	t1 := procCPU(b, cmd.Process.Pid)
	list, err = gc.Groups(ctx, api.ReadQuery{})
	if err != nil {
		b.Fatal(err)
	}
	total = 0
	for _, g := range list.Groups {
		total += g.Size
	}
	if total != n {
		b.Fatalf("%d clients in the groups after the window, want %d (some were removed)", total, n)
	}
	return (t1 - t0).Seconds() / window.Seconds()
}

// procCPU returns the user+system CPU time of a process, from /proc.
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / hz
}
