package runner

import (
	"roster/peer/viewlog"

	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Exit is how one process of a service ended while the run was going on
// (the exits the end of the run causes are not recorded). Plain data.
type Exit struct {
	// At is the time since the run started.
	At time.Duration
	// Status is the exit status, or -1 when a signal ended the process.
	Status int
	// Signal names the signal that ended the process ("" for an exit).
	Signal string
	// Crashed is an expected crash: a peer started with -c or -t (or a
	// client with -c) exited with status 1 after printing a line with
	// message:"crashing".
	Crashed bool
	// Killed is a kill asked for through Control.Kill.
	Killed bool
	// Restarted says the restart policy started the service again.
	Restarted bool
}

// failed reports whether the exit counts as a failure for restart policies:
// a non-zero status or a signal.
func (e Exit) failed() bool { return e.Status != 0 }

func (e Exit) describe() string {
	if e.Signal != "" {
		return "was killed by signal " + e.Signal
	}
	return fmt.Sprintf("exited with status %d", e.Status)
}

// Restart back-off, as Docker does it: 100 ms doubling, reset after a
// process ran for a while; capped low because lab runs are short.
const (
	restartDelay    = 100 * time.Millisecond
	restartDelayMax = 2 * time.Second
	restartReset    = 10 * time.Second
	drainTimeout    = 2 * time.Second
)

var errStopping = errors.New("the run is stopping")

// proc supervises the processes of one service: starts it, restarts it by
// its policy, records its exits. Its methods are safe for concurrent use.
type proc struct {
	svc      Service
	ep       Endpoint // zero for tools
	prefix   string
	bin, dir string
	args     []string
	env      []string
	crashy   bool // may exit with status 1 after "crashing"
	sink     *sink
	diag     func(format string, a ...any)
	t0       time.Time
	changed  chan<- struct{} // poked (non-blocking) when the service goes idle

	startReq chan struct{}

	mu         sync.Mutex
	cmd        *exec.Cmd // the running process; nil when none
	stopping   bool      // the run is ending: exits are expected
	killReq    bool      // the running process is being killed by Control.Kill
	forced     bool      // the run had to SIGKILL the process at the end
	idle       bool      // down until Control.Start
	downAtStop bool      // idle when the run began to stop
	pids       []int
	starts     int
	restarts   int
	exits      []Exit
	failures   []string
	lastCrash  bool // the last exit was an expected crash
	lastKilled bool // the last exit was Control.Kill
}

// label names the service in the runner's messages.
func (p *proc) label() string {
	if p.svc.Tool() {
		return "service " + p.svc.Name
	}
	return "peer " + p.svc.Peer
}

// supervise runs the service until stop is closed.
func (p *proc) supervise(stop <-chan struct{}) {
	for {
		p.runUntilDown(stop)
		p.mu.Lock()
		p.idle = true
		p.mu.Unlock()
		select {
		case p.changed <- struct{}{}:
		default:
		}
		select {
		case <-stop:
			return
		case <-p.startReq:
		}
	}
}

// runUntilDown starts the service and restarts it by its policy until it
// stays down or the run stops.
func (p *proc) runUntilDown(stop <-chan struct{}) {
	delay := restartDelay
	for {
		started := time.Now()
		wait, err := p.start()
		if errors.Is(err, errStopping) {
			return
		}
		if err != nil {
			p.fail(fmt.Sprintf("lab: %s could not start: %v", p.label(), err))
			return
		}
		ex, ok := wait()
		if !ok {
			return // stopped by the end of the run
		}
		p.mu.Lock()
		restart := !ex.Killed && !p.stopping && p.svc.Restart.restarts(ex.failed(), p.restarts)
		if restart {
			p.restarts++
			ex.Restarted = true
		}
		p.exits = append(p.exits, ex)
		p.lastCrash, p.lastKilled = ex.Crashed, ex.Killed
		p.mu.Unlock()

		switch {
		case restart:
			p.diag("lab: %s %s; restarting it (restart: %s)", p.label(), ex.describe(), p.svc.Restart.Mode)
		case ex.Killed || ex.Crashed:
		case ex.Status == 0:
			p.diag("lab: %s exited with status 0", p.label())
		case ex.Signal != "":
			p.fail(fmt.Sprintf("lab: %s exited unexpectedly on signal %s", p.label(), ex.Signal))
		default:
			p.fail(fmt.Sprintf("lab: %s exited unexpectedly with status %d", p.label(), ex.Status))
		}
		if !restart {
			return
		}
		if time.Since(started) >= restartReset {
			delay = restartDelay
		}
		select {
		case <-stop:
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, restartDelayMax)
	}
}

func (p *proc) fail(msg string) {
	p.mu.Lock()
	p.failures = append(p.failures, msg)
	p.mu.Unlock()
	p.diag("%s", msg)
}

// start starts one process of the service. The returned wait blocks until
// that process has exited and its output is read; it returns the exit, and
// false when the exit was caused by the end of the run.
func (p *proc) start() (wait func() (Exit, bool), err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return nil, errStopping
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.dir
	cmd.Env = p.env
	isolate(cmd)
	var readers []*os.File
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	readers = append(readers, outR, errR)
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	p.cmd = cmd
	p.idle = false
	p.pids = append(p.pids, cmd.Process.Pid)
	p.starts++

	var crashing atomic.Bool
	var wg sync.WaitGroup
	for _, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lineReader(r, func(line string) {
				if crashLine(strings.TrimSpace(line)) {
					crashing.Store(true)
				}
				p.sink.line(p.prefix, line)
			})
		}()
	}
	pid := cmd.Process.Pid
	return func() (Exit, bool) {
		cmd.Wait()
		// Whatever this process left in its group goes with it.
		signalGroup(pid, syscall.SIGKILL)
		drained := make(chan struct{})
		go func() { wg.Wait(); close(drained) }()
		select {
		case <-drained:
		case <-time.After(drainTimeout):
			// Something outside the group holds the pipes open.
			for _, r := range readers {
				r.Close()
			}
			<-drained
		}
		for _, r := range readers {
			r.Close()
		}
		ex := exitOf(cmd.ProcessState)
		ex.At = time.Since(p.t0)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.cmd = nil
		ex.Killed, p.killReq = p.killReq, false
		ex.Crashed = p.crashy && ex.Status == 1 && crashing.Load()
		if p.stopping && !ex.Killed && !ex.Crashed {
			return ex, false
		}
		if p.stopping && ex.Crashed {
			// Its own crash, not the stop's SIGTERM (which never makes a
			// process print "crashing"): under load, a crash just before
			// the end is reaped only after the stop began. It is an exit
			// of the run, and the service is down at the end.
			p.downAtStop = true
		}
		return ex, true
	}, nil
}

// crashLine reports whether a line says its process is crashing on purpose:
// a peer's or a client's message:"crashing".
func crashLine(s string) bool {
	if r, ok := viewlog.Parse(s); ok {
		return r.Message == viewlog.Crashing
	}
	if r, ok := viewlog.ParseGroup(s); ok {
		return r.Message == viewlog.Crashing
	}
	return false
}

// beginStop marks the run as ending and sends SIGTERM to the running process
// and its group.
func (p *proc) beginStop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopping = true
	p.downAtStop = p.idle
	if p.cmd != nil {
		signalGroup(p.cmd.Process.Pid, syscall.SIGTERM)
	}
}

// forceStop sends SIGKILL to the running process and its group.
func (p *proc) forceStop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		p.forced = true
		signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// kill SIGKILLs the running process for Control.Kill: no restart follows.
func (p *proc) kill() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return errStopping
	}
	if p.cmd == nil {
		return fmt.Errorf("%s is not running", p.label())
	}
	p.killReq = true
	return signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
}

// wake starts an idle service again for Control.Start.
func (p *proc) wake() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return errStopping
	}
	if !p.idle {
		return fmt.Errorf("%s is running or restarting", p.label())
	}
	p.idle = false
	p.startReq <- struct{}{}
	return nil
}

func (p *proc) isIdle() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idle
}

// exitOf turns a process state into an Exit.
func exitOf(ps *os.ProcessState) Exit {
	if ps == nil {
		return Exit{Status: -1, Signal: "unknown"}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return Exit{Status: -1, Signal: signalName(ws.Signal())}
	}
	return Exit{Status: ps.ExitCode()}
}

// signalName names a signal the way kill(1) does ("SIGKILL").
func signalName(sig syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGABRT: "SIGABRT", syscall.SIGALRM: "SIGALRM", syscall.SIGBUS: "SIGBUS",
		syscall.SIGFPE: "SIGFPE", syscall.SIGHUP: "SIGHUP", syscall.SIGILL: "SIGILL",
		syscall.SIGINT: "SIGINT", syscall.SIGKILL: "SIGKILL", syscall.SIGPIPE: "SIGPIPE",
		syscall.SIGQUIT: "SIGQUIT", syscall.SIGSEGV: "SIGSEGV", syscall.SIGTERM: "SIGTERM",
		syscall.SIGTRAP: "SIGTRAP",
	}
	if n, ok := names[sig]; ok {
		return n
	}
	return fmt.Sprintf("%d (%v)", int(sig), sig)
}
