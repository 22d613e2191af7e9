package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultStopTimeout is how long the end of a run waits after SIGTERM before
// it sends SIGKILL.
const DefaultStopTimeout = 5 * time.Second

// Options control a run. The zero value is usable: no output anywhere but
// the returned Result, and the running executable as the roster binary.
type Options struct {
	// Roster is the roster binary to start ("" for os.Executable, so that
	// `go run . lab up` starts copies of itself). A name without a slash is
	// looked up in PATH.
	Roster string
	// Out receives every process's lines as they arrive, prefixed with the
	// service name like docker compose ("one   | ..."); nil for none.
	Out io.Writer
	// Timestamps adds the receive time to Out's lines
	// ("one   | 2026-11-21T20:18:00.123456789Z ...").
	Timestamps bool
	// LogFile receives the timestamped lines; nil for none.
	LogFile io.Writer
	// Diag receives the runner's own one-line messages ("lab: ..."); nil for
	// none. Result.Failures holds the ones that matter.
	Diag io.Writer
	// Env holds KEY=VALUE entries added to every process's environment.
	Env []string
	// SharedLoopback puts every peer on 127.0.0.1 with its own ports, as on
	// machines without a loopback range, even on Linux.
	SharedLoopback bool
	// StopTimeout is the wait between SIGTERM and SIGKILL at the end
	// (DefaultStopTimeout when 0).
	StopTimeout time.Duration
	// KeepRunDir leaves the run directory (generated hostsfile, data
	// directories) in place; Result.RunDir names it.
	KeepRunDir bool
	// OnStart, when set, is called in its own goroutine once every process
	// has been started, with a Control that acts on the run until it ends.
	// With OnStart set the run lasts its full duration even if every
	// process has exited.
	OnStart func(*Control)
}

// Result is what a run did. Plain data once Run has returned.
type Result struct {
	// Log is every output line of every process until the scenario ended
	// (its duration ran out, or it was interrupted), in arrival order, as
	// "name | 2026-11-21T20:18:00.123456789Z line\n" (the name padded to the
	// longest service name), the shape of `docker compose logs -t`. This is
	// what the checker judges.
	Log []byte
	// Teardown is what the processes printed after that, while the run
	// stopped them (their graceful leaves), in the same shape.
	Teardown []byte
	// Hostsfile maps each peer name of the generated hostsfile to its id.
	Hostsfile map[string]int
	// HostsfileText is the generated hostsfile.
	HostsfileText string
	// Services reports on every service, in scenario order.
	Services []ServiceResult
	// Failures holds one line per unexpected exit, as printed on Diag.
	Failures []string
	// Status is 0, or 1 when some process failed unexpectedly.
	Status int
	// Interrupted is true when the context ended the run early.
	Interrupted bool
	// Elapsed is the time from start to the last process stopped.
	Elapsed time.Duration
	// RunDir is the run directory; it is removed unless KeepRunDir was set.
	RunDir string
}

// ServiceResult is what happened to one service. Plain data.
type ServiceResult struct {
	// Endpoint is where the service's peer listened (zero for tools).
	Endpoint
	// Tool is true for a service that runs a roster subcommand, not a peer.
	Tool bool
	// Client is true for a tool that runs `roster client`; ClientID is its
	// --id.
	Client   bool
	ClientID string
	// Args is the argument list the processes were started with.
	Args []string
	// Pids are the process ids of every process started, in order.
	Pids []int
	// Starts counts processes started (1 + restarts, + Control.Start).
	Starts int
	// Exits lists the exits during the run, in order.
	Exits []Exit
	// Down is true when no process of the service ran at the end.
	Down bool
	// ForcedStop is true when the process did not stop on SIGTERM at the end
	// and was killed.
	ForcedStop bool
}

// Killed returns the ids of the peers that were down at the end of the run
// without having announced it: their last exit was neither an expected crash
// (which prints a "crashing" line the checker reads) nor absent. The checker
// treats them as crashed.
func (r *Result) Killed() []int {
	var ids []int
	for _, s := range r.Services {
		if s.Tool || !s.Down || len(s.Exits) == 0 || s.Exits[len(s.Exits)-1].Crashed {
			continue
		}
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids
}

// Control acts on a run in progress (see Options.OnStart). Its methods are
// safe for concurrent use and return an error once the run is ending.
type Control struct {
	procs     []*proc
	endpoints []Endpoint
}

// Endpoints returns where each peer listens, in service order.
func (c *Control) Endpoints() []Endpoint { return slices.Clone(c.endpoints) }

// Kill sends SIGKILL to the running process of the service or peer called
// name (and its process group). The exit is expected and not followed by a
// restart; Start brings the service back with the same data directory.
func (c *Control) Kill(name string) error {
	p, err := c.find(name)
	if err != nil {
		return err
	}
	return p.kill()
}

// Start starts again a service that is down (killed, crashed, or exited and
// not restarted by its policy).
func (c *Control) Start(name string) error {
	p, err := c.find(name)
	if err != nil {
		return err
	}
	return p.wake()
}

// Pid returns the process id of the running process of the service or peer
// called name, and false when none is running.
func (c *Control) Pid(name string) (int, bool) {
	p, err := c.find(name)
	if err != nil {
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0, false
	}
	return p.cmd.Process.Pid, true
}

func (c *Control) find(name string) (*proc, error) {
	for _, p := range c.procs {
		if p.svc.Name == name || (!p.svc.Tool() && p.svc.Peer == name) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no service or peer called %q", name)
}

// Run executes the scenario: it places the peers on loopback addresses,
// writes the hostsfile, starts every service, runs for sc.Duration (or until
// ctx is done, or every process has exited), then stops everything (SIGTERM,
// then SIGKILL after StopTimeout) and reaps every process it started.
// Each process runs in the scenario's directory, in its own process group,
// with the runner's environment plus Options.Env, the service's environment,
// ROSTER_LAB_RUN_DIR (the run directory) and ROSTER_LAB_PEERS (each peer's
// API address, for roster nemesis). Problems with the scenario or
// options are *InputError; a returned Result always has every process
// stopped and reaped. Run may be called concurrently.
func Run(ctx context.Context, sc *Scenario, opts Options) (*Result, error) {
	if sc == nil || len(sc.Services) == 0 {
		return nil, inputErr("%s: no services", sc.where())
	}
	if sc.Duration <= 0 {
		return nil, inputErr("%s: no scenario length: give --duration, or x-roster: {duration: 20s} at the top of the file", sc.where())
	}
	bin, err := RosterBinary(opts.Roster)
	if err != nil {
		return nil, err
	}
	lay, pl, err := buildLayout(sc, func(n int) (*placement, error) { return place(n, opts.SharedLoopback) })
	if err != nil {
		return nil, err
	}
	runDir, err := os.MkdirTemp("", "roster-lab-")
	if err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	if !opts.KeepRunDir {
		defer os.RemoveAll(runDir)
	}
	hostsPath := filepath.Join(runDir, "hostsfile.txt")
	if err := os.WriteFile(hostsPath, []byte(lay.text), 0o644); err != nil {
		return nil, err
	}

	var diagMu sync.Mutex
	diag := func(format string, a ...any) {
		if opts.Diag == nil {
			return
		}
		diagMu.Lock()
		defer diagMu.Unlock()
		fmt.Fprintf(opts.Diag, format+"\n", a...)
	}
	diag("lab: running %s for %v: %s", sc.where(), sc.Duration, describePlacement(lay.endpoints, pl.uniform))
	width := 0
	for _, s := range sc.Services {
		width = max(width, len(s.Name))
	}
	out := &sink{width: width, now: time.Now, live: opts.Out, liveTime: opts.Timestamps, file: opts.LogFile}
	dir := sc.Dir
	if dir == "" {
		dir, _ = os.Getwd()
	}
	t0 := time.Now()
	changed := make(chan struct{}, 1)
	ctl := &Control{}
	var peerIPs []string
	for _, ep := range lay.endpoints {
		if ep.Peer != "" {
			peerIPs = append(peerIPs, ep.IP)
		}
	}
	clients := 0
	for i, s := range sc.Services {
		p := &proc{
			svc: s, ep: lay.endpoints[i], prefix: s.Name, bin: bin, dir: dir,
			sink: out, diag: diag, t0: t0, changed: changed,
			startReq: make(chan struct{}, 1),
		}
		p.env = append(append(append(os.Environ(), opts.Env...), s.Env...), "ROSTER_LAB_RUN_DIR="+runDir, peersEnv(lay.endpoints))
		switch {
		case s.Client():
			listen, err := clientListen(clients, s.Args, peerIPs)
			if err != nil {
				return nil, fmt.Errorf("service %s: %w", s.Name, err)
			}
			clients++
			p.args = clientArgs(s.Args, lay.endpoints, listen)
			p.crashy = mayCrash(s.Args, append(slices.Clone(opts.Env), s.Env...))
		case s.Tool():
			p.args = s.Args
			if _, _, _, ok := hostsfileFlag(s.Args); ok {
				p.args = withHostsfile(s.Args, hostsPath)
			}
		default:
			dataDir := filepath.Join(runDir, "data", s.Name)
			if err := os.MkdirAll(dataDir, 0o755); err != nil {
				return nil, err
			}
			p.args = peerArgs(s, hostsPath, p.ep, dataDir)
			p.crashy = mayCrash(s.Args, append(slices.Clone(opts.Env), s.Env...))
			ctl.endpoints = append(ctl.endpoints, p.ep)
		}
		ctl.procs = append(ctl.procs, p)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range ctl.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.supervise(stop)
		}()
	}
	if opts.OnStart != nil {
		go opts.OnStart(ctl)
	}
	timer := time.NewTimer(sc.Duration)
	defer timer.Stop()
	res := &Result{Hostsfile: lay.ids, HostsfileText: lay.text, RunDir: runDir}
wait:
	for {
		select {
		case <-ctx.Done():
			res.Interrupted = true
			break wait
		case <-timer.C:
			break wait
		case <-changed:
			if opts.OnStart == nil && allIdle(ctl.procs) {
				break wait
			}
		}
	}

	ended := out.size()
	close(stop)
	for _, p := range ctl.procs {
		p.beginStop()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timeout := opts.StopTimeout
	if timeout <= 0 {
		timeout = DefaultStopTimeout
	}
	select {
	case <-done:
	case <-time.After(timeout):
		for _, p := range ctl.procs {
			p.forceStop()
		}
		<-done
	}
	res.Elapsed = time.Since(t0)
	all := out.collected()
	res.Log, res.Teardown = all[:ended], all[ended:]

	for _, p := range ctl.procs {
		p.mu.Lock()
		sr := ServiceResult{
			Endpoint: p.ep, Tool: p.svc.Tool(), Args: slices.Clone(p.args),
			Pids: slices.Clone(p.pids), Starts: p.starts, Exits: slices.Clone(p.exits),
			Down: p.downAtStop, ForcedStop: p.forced,
		}
		if p.svc.Tool() {
			sr.Service = p.svc.Name
			sr.Client, sr.ClientID = p.svc.Client(), p.svc.ClientID()
		}
		res.Failures = append(res.Failures, p.failures...)
		p.mu.Unlock()
		if sr.ForcedStop {
			diag("lab: %s did not stop within %v of SIGTERM and was killed", p.label(), timeout)
		}
		res.Services = append(res.Services, sr)
	}
	if len(res.Failures) > 0 {
		res.Status = 1
	}
	if out.fileErr != nil {
		return res, fmt.Errorf("log file: %w", out.fileErr)
	}
	return res, nil
}

func allIdle(procs []*proc) bool {
	for _, p := range procs {
		if !p.isIdle() {
			return false
		}
	}
	return true
}

// RosterBinary resolves the roster binary a run starts: name, or this
// executable when name is "". The error is an *InputError.
func RosterBinary(name string) (string, error) {
	if name == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", inputErr("cannot find the roster binary (%v): give --roster PATH", err)
		}
		return exe, nil
	}
	if !strings.ContainsRune(name, filepath.Separator) && !strings.ContainsRune(name, '/') {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", inputErr("roster binary %q: not found in PATH", name)
		}
		return p, nil
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", inputErr("roster binary %s: %v", name, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case err != nil:
		return "", inputErr("roster binary %s: no such file", name)
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		return "", inputErr("roster binary %s: not an executable file", name)
	}
	return abs, nil
}

// describePlacement says where the peers listen, for the runner's first line.
func describePlacement(eps []Endpoint, uniform bool) string {
	var parts []string
	var last Endpoint
	for _, ep := range eps {
		if ep.Peer == "" {
			continue
		}
		last = ep
		if uniform {
			parts = append(parts, fmt.Sprintf("%s=%s", ep.Peer, ep.IP))
		} else {
			parts = append(parts, fmt.Sprintf("%s=%s (raft %d, gossip %d, api %d)", ep.Peer, ep.IP, ep.RaftPort, ep.GossipPort, ep.APIPort))
		}
	}
	s := "peers " + strings.Join(parts, " ")
	if len(parts) == 0 {
		s = "no peers"
	}
	if uniform && last.Peer != "" {
		s += fmt.Sprintf(" (raft %d, gossip %d, api %d)", last.RaftPort, last.GossipPort, last.APIPort)
	}
	return s
}
