package runner

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/internal/testkit"
)

// exitedProc starts script under /bin/sh as a crash-prone service and
// returns its wait once the process has exited and is not yet reaped (a
// zombie): the state in which a run's end can find a process that ended
// by itself.
func exitedProc(t *testing.T, script string) (*proc, func() (Exit, bool)) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc to see the process exit")
	}
	p := &proc{
		svc: Service{Name: "five", Peer: "five"}, prefix: "five", bin: "/bin/sh",
		args: []string{"-c", script}, env: os.Environ(), crashy: true,
		sink: &sink{now: time.Now}, diag: func(string, ...any) {}, t0: time.Now(),
	}
	wait, err := p.start()
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	pid := p.cmd.Process.Pid
	p.mu.Unlock()
	testkit.WaitFor(t, 10*time.Second, func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		// pid (comm) STATE ...: comm may hold spaces, the state follows the last ")".
		s := string(b)
		return strings.HasPrefix(strings.TrimSpace(s[strings.LastIndex(s, ")")+1:]), "Z")
	}, func() string { return "the process did not exit" })
	return p, wait
}

// A crash the run's end reaps (the process printed "crashing" and exited 1
// before the stop began, but its wait had not returned yet) is still an
// exit of the run, and the service is down at the end: under load the
// runner once counted such a crash as stopped by the end of the run.
func TestCrashReapedAfterTheStopIsAnExit(t *testing.T) {
	p, wait := exitedProc(t, `echo '{peer_id:2, view_id: 1, leader: 1, message:"crashing"}' >&2; exit 1`)
	p.beginStop()
	ex, ok := wait()
	if !ok || !ex.Crashed || ex.Status != 1 {
		t.Fatalf("wait() = %+v, %v; want a crash (status 1) of the run", ex, ok)
	}
	if !p.downAtStop {
		t.Error("the crashed service is not down at the end")
	}
}

// An exit at the stop without a "crashing" line is the stop's doing.
func TestExitAtTheStopIsTheStops(t *testing.T) {
	p, wait := exitedProc(t, `echo leaving; exit 1`)
	p.beginStop()
	if ex, ok := wait(); ok {
		t.Fatalf("wait() = %+v, true; want the exit put down to the end of the run", ex)
	}
	if p.downAtStop {
		t.Error("a service running when the stop began is down at the end")
	}
}
