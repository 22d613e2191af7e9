package groupload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"roster/lab/checker"
	"roster/lab/runner"
	"roster/lab/stats"
	"roster/peer/api"
)

// Config is what `roster lab groups` runs. Zero fields take the defaults
// of Defaults.
type Config struct {
	// Clients and Groups: Clients in-process clients, spread over Groups
	// groups (client i joins group i mod Groups).
	Clients, Groups int
	// Peers is the number of local peer processes.
	Peers int
	// Duration is how long the workload runs, once the peers are up.
	Duration time.Duration
	// Seed makes the random choices (peers asked, operations, kills).
	Seed uint64
	// ClientInterval and ClientMisses are the peers' --client-interval and
	// --client-misses.
	ClientInterval time.Duration
	ClientMisses   int
	// KillClientsEvery is the mean time between client kills (0: none);
	// KillPeersEvery between peer kills (0: none), each peer coming back
	// after PeerDown.
	KillClientsEvery, KillPeersEvery, PeerDown time.Duration
	// OpPause is the mean pause of each client between two calls.
	OpPause time.Duration
	// CheckTimeout bounds Porcupine's search per group (0: none).
	CheckTimeout time.Duration
	// Roster is the roster binary ("" for this executable).
	Roster string
	// PeerArgs are extra flags for every peer.
	PeerArgs []string
	// Out is the directory for the run's files (created; "" for none).
	Out string
	// Progress receives one line now and then (nil: none).
	Progress func(string)
}

// Defaults are the values of zero Config fields.
var Defaults = Config{
	Clients: 200, Groups: 8, Peers: 5, Duration: 60 * time.Second,
	ClientInterval: time.Second, ClientMisses: 3,
	KillClientsEvery: 2 * time.Second, KillPeersEvery: 20 * time.Second, PeerDown: 5 * time.Second,
	OpPause: 500 * time.Millisecond, CheckTimeout: time.Minute,
}

// Report is what a workload run did and what Porcupine said of it.
type Report struct {
	Clients  int    `json:"clients"`
	Groups   int    `json:"groups"`
	Peers    int    `json:"peers"`
	Duration string `json:"duration"`
	Seed     uint64 `json:"seed"`
	// Ops counts the recorded calls by kind and outcome, with latencies.
	Ops map[string]*OpStats `json:"ops"`
	// ClientKills and PeerKills count the kills.
	ClientKills int `json:"client_kills"`
	PeerKills   int `json:"peer_kills"`
	// Linearizability is Porcupine's verdict on the history.
	Linearizability *Linearizability `json:"linearizability"`
	// Views is the checker's verdict on the peers' view log ("pass",
	// "fail", ...): the peers killed are expected removals.
	Views string `json:"views"`
	// Notes are problems of the run itself (a client that could not listen).
	Notes []string `json:"notes,omitempty"`
	// Files names what was saved under Config.Out.
	Files []string `json:"files,omitempty"`
}

// OpStats counts one kind of call.
type OpStats struct {
	OK      int            `json:"ok"`
	Failed  int            `json:"failed"`
	Unknown int            `json:"unknown"`
	Latency *stats.Summary `json:"latency_ms,omitempty"`
}

// OK reports whether the history was found linearizable.
func (r *Report) OK() bool { return r.Linearizability != nil && r.Linearizability.OK() }

// workload is the state shared by the clients and killers of one run.
type workload struct {
	cfg   Config
	addrs []string
	api   *api.GroupsClient
	hist  History

	mu     sync.Mutex
	notes  []string
	events []Event
}

// Event is a fault the workload caused, shown on the visualization.
type Event struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
}

func (w *workload) note(format string, a ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.notes) < 50 {
		w.notes = append(w.notes, fmt.Sprintf(format, a...))
	}
}

func (w *workload) event(what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, Event{At: time.Now(), What: what})
}

func (w *workload) peer(rng *rand.Rand) string { return w.addrs[rng.IntN(len(w.addrs))] }

// pause is a random pause around the mean OpPause.
func (w *workload) pause(rng *rand.Rand) time.Duration {
	return time.Duration(rng.ExpFloat64() * float64(w.cfg.OpPause))
}

// finish stamps the end of a call and classifies its outcome: an answer is
// OK, a 4xx or a refused connection (nothing was sent) is a failure that
// changed nothing, anything else (no answer, a 5xx) is unknown.
func (w *workload) finish(op *Op, err error) {
	end := time.Now()
	var he *api.HTTPError
	switch {
	case err == nil:
		op.OK, op.End = true, end
	case errors.As(err, &he) && he.Code >= 400 && he.Code < 500, strings.Contains(err.Error(), "connection refused"):
		op.Failed, op.End, op.Err = true, end, err.Error()
	default:
		op.Err = err.Error()
		op.End = end // kept for the latency figures; Operations ignores it
	}
}

// clientHost returns the API client the workload's clients share: one
// host's connections, at most 12 to each peer (below the API's cap of 16
// per address, as closing connections still count; more calls wait), from a loopback address of its own where there
// is one, so that the peers do not count the workload's connections with
// what they send each other from 127.0.0.1.
func clientHost() *api.GroupsClient {
	d := &net.Dialer{Timeout: 2 * time.Second}
	ip := net.IPv4(127, 251, byte(rand.IntN(250)), 1)
	if l, err := net.Listen("tcp4", net.JoinHostPort(ip.String(), "0")); err == nil {
		l.Close()
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return &api.GroupsClient{Timeout: 5 * time.Second, HTTP: &http.Client{Transport: &http.Transport{
		Proxy: nil, MaxConnsPerHost: 12, MaxIdleConnsPerHost: 12, DialContext: d.DialContext,
		// Below the peers' 30 s: a connection is retired before the peer
		// closes it under a request.
		IdleConnTimeout: 20 * time.Second,
	}}}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// Run runs the workload: it starts the peers, runs the clients and the
// killers for cfg.Duration, stops everything, checks the history with
// Porcupine and saves the run's files under cfg.Out.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	fill(&cfg)
	if cfg.Clients < 1 || cfg.Groups < 1 || cfg.Peers < 1 {
		return nil, fmt.Errorf("need at least one client, group and peer")
	}
	if cfg.Out != "" {
		if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
			return nil, err
		}
	}
	progress := func(format string, a ...any) {
		if cfg.Progress != nil {
			cfg.Progress(fmt.Sprintf(format, a...))
		}
	}
	cl, err := StartCluster(ctx, ClusterOptions{
		Peers: cfg.Peers, Roster: cfg.Roster,
		PeerArgs: append([]string{"--client-interval", cfg.ClientInterval.String(), "--client-misses", strconv.Itoa(cfg.ClientMisses)}, cfg.PeerArgs...),
	})
	if err != nil {
		return nil, fmt.Errorf("starting %d peers: %w", cfg.Peers, err)
	}
	progress("groups: %d peers up; %d clients in %d groups for %v (seed %d)", cfg.Peers, cfg.Clients, cfg.Groups, cfg.Duration, cfg.Seed)
	w := &workload{cfg: cfg, addrs: cl.Addrs(), api: clientHost()}
	rep := &Report{Clients: cfg.Clients, Groups: cfg.Groups, Peers: cfg.Peers, Duration: cfg.Duration.String(), Seed: cfg.Seed}

	runCtx, stop := context.WithTimeout(ctx, cfg.Duration)
	var wg sync.WaitGroup
	clients := make([]*client, cfg.Clients)
	for i := range clients {
		clients[i] = &client{idx: i, id: fmt.Sprintf("c%d", i+1), group: fmt.Sprintf("g%d", i%cfg.Groups+1), w: w,
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i+1))), kill: make(chan time.Duration, 1)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			clients[i].run(runCtx)
		}()
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0))
	var killers sync.WaitGroup
	if cfg.KillClientsEvery > 0 {
		killers.Add(1)
		go func() {
			defer killers.Done()
			rep.ClientKills = killClients(runCtx, w, clients, rand.New(rand.NewPCG(cfg.Seed, 1<<32)))
		}()
	}
	if cfg.KillPeersEvery > 0 {
		killers.Add(1)
		go func() {
			defer killers.Done()
			rep.PeerKills = killPeers(runCtx, w, cl, rng)
		}()
	}
	wg.Wait()
	killers.Wait()
	stop()
	// A peer killed near the end is back by now: let it rejoin, so that the
	// peers' views end on one view for the view checker.
	for i := range cl.Size() {
		if _, running := cl.Pid(i); !running {
			cl.Start(i)
		}
	}
	if err := cl.WaitView(ctx, cfg.Peers, 30*time.Second); err != nil {
		w.note("at the end: %v", err)
	}
	res, err := cl.Stop()
	if err != nil {
		return nil, fmt.Errorf("stopping the peers: %w", err)
	}
	ops := w.hist.Ops()
	rep.Ops = opStats(ops)
	rep.Notes = w.notes
	progress("groups: %d calls recorded; checking linearizability", len(ops))

	// The history and the peers' log are saved before the check, which may
	// take long.
	save := func(name string, data []byte) error {
		if cfg.Out == "" {
			return nil
		}
		p := filepath.Join(cfg.Out, name)
		rep.Files = append(rep.Files, p)
		return os.WriteFile(p, data, 0o644)
	}
	var hj bytes.Buffer
	WriteJSON(&hj, ops)
	if err := errors.Join(save("history.json", hj.Bytes()), save("peers.log", res.Log)); err != nil {
		return rep, err
	}
	rep.Views = judgeViews(res, w.events)
	var vis bytes.Buffer
	lin, err := CheckWithEvents(ops, cfg.CheckTimeout, &vis, w.events)
	if err != nil {
		return nil, err
	}
	rep.Linearizability = lin
	if err := save("linearizability.html", vis.Bytes()); err != nil {
		return rep, err
	}
	rj, _ := json.MarshalIndent(rep, "", "  ")
	if err := save("report.json", append(rj, '\n')); err != nil {
		return rep, err
	}
	return rep, nil
}

func fill(cfg *Config) {
	d := Defaults
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	set(&cfg.Clients, d.Clients)
	set(&cfg.Groups, d.Groups)
	set(&cfg.Peers, d.Peers)
	set(&cfg.ClientMisses, d.ClientMisses)
	setD(&cfg.Duration, d.Duration)
	setD(&cfg.ClientInterval, d.ClientInterval)
	setD(&cfg.PeerDown, d.PeerDown)
	setD(&cfg.OpPause, d.OpPause)
}

// killClients kills a random member client about every KillClientsEvery;
// half come back at once (a quick restart), half after their removal.
func killClients(ctx context.Context, w *workload, clients []*client, rng *rand.Rand) int {
	n := 0
	removal := w.cfg.ClientInterval*time.Duration(w.cfg.ClientMisses) + 2*time.Second
	for {
		select {
		case <-ctx.Done():
			return n
		case <-time.After(time.Duration(rng.ExpFloat64() * float64(w.cfg.KillClientsEvery))):
		}
		c := clients[rng.IntN(len(clients))]
		if !c.isMember() {
			continue
		}
		down := 300 * time.Millisecond
		if rng.IntN(2) == 0 {
			down = removal
		}
		select {
		case c.kill <- down:
			n++
		default:
		}
	}
}

// killPeers kills a random peer about every KillPeersEvery and starts it
// again after PeerDown; one peer is down at a time.
func killPeers(ctx context.Context, w *workload, cl *Cluster, rng *rand.Rand) int {
	n := 0
	for {
		select {
		case <-ctx.Done():
			return n
		case <-time.After(time.Duration((0.5 + rng.Float64()) * float64(w.cfg.KillPeersEvery))):
		}
		i := rng.IntN(cl.Size())
		if err := cl.Kill(i); err != nil {
			w.note("kill %s: %v", cl.Name(i), err)
			continue
		}
		n++
		w.event("kill peer " + cl.Name(i))
		select {
		case <-ctx.Done():
		case <-time.After(w.cfg.PeerDown):
		}
		if err := cl.Start(i); err != nil && ctx.Err() == nil {
			w.note("start %s: %v", cl.Name(i), err)
		}
		w.event("start peer " + cl.Name(i))
	}
}

// judgeViews runs the view checker on the peers' log; the peers the
// workload killed may rightly be removed.
func judgeViews(res *runner.Result, events []Event) string {
	var killed []int
	for _, e := range events {
		var name string
		if _, err := fmt.Sscanf(e.What, "kill peer %s", &name); err == nil {
			if id, ok := res.Hostsfile[name]; ok && !slices.Contains(killed, id) {
				killed = append(killed, id)
			}
		}
	}
	v, err := runner.Judge(res, checker.Options{ExpectRemovals: killed})
	if err != nil {
		return err.Error()
	}
	if bad := v.Report.Violated(); len(bad) > 0 {
		return fmt.Sprintf("%s (violated: %v)", v.Report.Verdict, bad)
	}
	return v.Report.Verdict
}

func opStats(ops []Op) map[string]*OpStats {
	out := map[string]*OpStats{}
	lat := map[string][]time.Duration{}
	for _, op := range ops {
		if op.Kind == OpExpire {
			continue
		}
		s := out[op.Kind]
		if s == nil {
			s = &OpStats{}
			out[op.Kind] = s
		}
		switch {
		case op.OK:
			s.OK++
			lat[op.Kind] = append(lat[op.Kind], op.End.Sub(op.Start))
		case op.Failed:
			s.Failed++
		default:
			s.Unknown++
		}
	}
	for k, ds := range lat {
		if len(ds) > 0 {
			sum := stats.Of(ds)
			out[k].Latency = &sum
		}
	}
	return out
}
