package runner

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"roster/lab/checker"
)

// Scenario is what a lab run starts and for how long. Load builds one from a
// compose file; a program may also build one directly. A Scenario is not
// modified by Run and may be shared by concurrent runs.
type Scenario struct {
	// File is the compose file the scenario came from ("" when built in code);
	// used in messages.
	File string
	// Dir is the directory relative paths in service commands (the -h
	// hostsfile) resolve against.
	Dir string
	// Duration is how long the scenario runs before every peer is stopped.
	Duration time.Duration
	// ExpectRemovals names peers (by name, or by id as a decimal string) that
	// the scenario may rightly remove while they are alive, such as the
	// minority side of a partition; the checker does not count those
	// removals against accuracy. From x-roster: {expect_removals: [one, 2]}.
	ExpectRemovals []string
	// ClientDeadline bounds, for the checker, the time from a client's crash
	// to the first group view without it at every live watcher (0: only the
	// end state is judged). From x-roster: {client_deadline: 7s}.
	ClientDeadline time.Duration
	// ExpectClientRemovals names clients (by --id) the scenario may rightly
	// remove while they are alive. From x-roster: {expect_client_removals: [c3]}.
	ExpectClientRemovals []string
	// Services are the processes to start, in order: without a hostsfile,
	// peer ids follow this order, and so do the loopback addresses.
	Services []Service
}

// Service is one process of a scenario.
type Service struct {
	// Name is the compose service name.
	Name string
	// Peer is the peer's name: the service's hostname when set, else Name.
	Peer string
	// Args are the roster arguments from the service's command, as written
	// (for a peer, its flags such as -h hostsfile.txt -d 2 -c 4).
	Args []string
	// Env holds extra KEY=VALUE environment entries for the process.
	Env []string
	// Restart says whether the process is started again when it exits.
	Restart RestartPolicy
}

// Tool reports whether the service runs a roster subcommand (its command
// starts with a word, as in "nemesis --at 15s ...") rather than a peer. Tools
// get no peer flags, are not in the hostsfile, and may exit with status 0.
func (s Service) Tool() bool {
	return len(s.Args) > 0 && !strings.HasPrefix(s.Args[0], "-")
}

// ClientOptions returns what the scenario tells the checker about its
// clients: their crash-to-removal deadline and the removals it expects.
func (sc *Scenario) ClientOptions() checker.GroupOptions {
	return checker.GroupOptions{Deadline: sc.ClientDeadline, ExpectRemovals: slices.Clone(sc.ExpectClientRemovals)}
}

// RestartMode is a compose restart policy.
type RestartMode int

// The compose restart policies.
const (
	// RestartNo never restarts (compose "no", the default).
	RestartNo RestartMode = iota
	// RestartOnFailure restarts after a non-zero exit status or a signal.
	RestartOnFailure
	// RestartAlways restarts after any exit.
	RestartAlways
	// RestartUnlessStopped restarts after any exit; the lab never stops a
	// service by hand, so it behaves as RestartAlways.
	RestartUnlessStopped
)

// RestartPolicy is a service's restart policy.
type RestartPolicy struct {
	Mode RestartMode
	// MaxRetries caps the restarts of RestartOnFailure ("on-failure:3");
	// 0 means no cap.
	MaxRetries int
}

// ParseRestart parses a compose `restart:` value: "", "no", "always",
// "unless-stopped", "on-failure" or "on-failure:N".
func ParseRestart(s string) (RestartPolicy, error) {
	switch s {
	case "", "no":
		return RestartPolicy{Mode: RestartNo}, nil
	case "always":
		return RestartPolicy{Mode: RestartAlways}, nil
	case "unless-stopped":
		return RestartPolicy{Mode: RestartUnlessStopped}, nil
	case "on-failure":
		return RestartPolicy{Mode: RestartOnFailure}, nil
	}
	if n, ok := strings.CutPrefix(s, "on-failure:"); ok {
		var max int
		if _, err := fmt.Sscanf(n, "%d", &max); err == nil && max >= 0 && fmt.Sprint(max) == n {
			return RestartPolicy{Mode: RestartOnFailure, MaxRetries: max}, nil
		}
	}
	return RestartPolicy{}, fmt.Errorf("restart %q: want no, always, unless-stopped, on-failure or on-failure:N", s)
}

// restarts reports whether a process that exited (failed: non-zero status or
// a signal) after `done` restarts so far is started again.
func (p RestartPolicy) restarts(failed bool, done int) bool {
	switch p.Mode {
	case RestartAlways, RestartUnlessStopped:
		return true
	case RestartOnFailure:
		return failed && (p.MaxRetries == 0 || done < p.MaxRetries)
	}
	return false
}

func (m RestartMode) String() string {
	switch m {
	case RestartOnFailure:
		return "on-failure"
	case RestartAlways:
		return "always"
	case RestartUnlessStopped:
		return "unless-stopped"
	}
	return "no"
}
