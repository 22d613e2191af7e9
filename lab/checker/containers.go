package checker

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Container is what the container engine says about one container of a
// compose project at the time the checker asked (`docker inspect`). It lets
// the checker see faults made outside roster: kills, pauses, restarts and
// network disconnects.
type Container struct {
	// Name is the container's name, without Docker's leading '/'.
	Name string
	// Service is the compose service (label com.docker.compose.service).
	Service string
	// Hostname is the container's hostname.
	Hostname string
	// Status is State.Status: "running", "paused", "exited", "dead",
	// "created", "restarting" or "removing".
	Status string
	// Paused and OOMKilled are State.Paused and State.OOMKilled.
	Paused, OOMKilled bool
	// ExitCode is State.ExitCode of the last exit (137: SIGKILL).
	ExitCode int
	// RestartCount counts restarts by the restart policy (a manual
	// `docker restart` or `docker start` resets it).
	RestartCount int
	// StartedAt is when the container last started; FinishedAt when it last
	// exited (zero when it never did).
	StartedAt, FinishedAt time.Time
	// Networks names the networks it is attached to.
	Networks []string
}

// Running reports whether the container's process is running (paused
// counts as running: its process still exists).
func (c Container) Running() bool {
	return c.Status == "running" || c.Status == "paused" || c.Status == "restarting"
}

// Killed reports whether the container's last exit was a kill: SIGKILL
// (exit code 137, `docker kill`) or the kernel's OOM killer.
func (c Container) Killed() bool { return !c.Running() && (c.ExitCode == 137 || c.OOMKilled) }

// Disconnected reports whether a running container is attached to no
// network (`docker network disconnect`): no peer can reach it.
func (c Container) Disconnected() bool {
	if !c.Running() {
		return false
	}
	for _, n := range c.Networks {
		if n != "none" {
			return false
		}
	}
	return true
}

// String describes the container's state in a few words: "chk-five exited
// 137 (killed)", "chk-four paused", "chk-three running, started 13:24:10.5".
func (c Container) String() string {
	var s string
	switch {
	case c.Paused || c.Status == "paused":
		s = c.Name + " paused"
	case c.Running():
		s = c.Name + " " + c.Status
		if c.Disconnected() {
			s += " but on no network (disconnected)"
		}
	default:
		s = fmt.Sprintf("%s %s %d", c.Name, c.Status, c.ExitCode)
		if c.OOMKilled {
			s += " (OOM killed)"
		} else if c.ExitCode == 137 {
			s += " (killed)"
		}
	}
	if c.RestartCount > 0 {
		s += fmt.Sprintf(", restarted %d times", c.RestartCount)
	}
	return s
}

// inspectJSON is the part of `docker inspect`'s output the checker reads.
type inspectJSON struct {
	Name         string
	RestartCount int
	State        struct {
		Status     string
		Paused     bool
		OOMKilled  bool
		ExitCode   int
		StartedAt  string
		FinishedAt string
	}
	Config struct {
		Hostname string
		Labels   map[string]string
	}
	NetworkSettings struct {
		Networks map[string]json.RawMessage
	}
}

// ParseInspect reads the JSON array `docker inspect` prints for containers.
func ParseInspect(data []byte) ([]Container, error) {
	var raw []inspectJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("docker inspect output: %w", err)
	}
	out := make([]Container, 0, len(raw))
	for _, r := range raw {
		c := Container{
			Name:         strings.TrimPrefix(r.Name, "/"),
			Service:      r.Config.Labels["com.docker.compose.service"],
			Hostname:     r.Config.Hostname,
			Status:       r.State.Status,
			Paused:       r.State.Paused,
			OOMKilled:    r.State.OOMKilled,
			ExitCode:     r.State.ExitCode,
			RestartCount: r.RestartCount,
			StartedAt:    engineTime(r.State.StartedAt),
			FinishedAt:   engineTime(r.State.FinishedAt),
		}
		for n := range r.NetworkSettings.Networks {
			c.Networks = append(c.Networks, n)
		}
		sort.Strings(c.Networks)
		out = append(out, c)
	}
	return out, nil
}

// engineTime parses an engine timestamp; Docker's "never" is year 1, which
// becomes the zero time.
func engineTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// ApplyContainers adds what the engine says about a run's containers to
// opts: a container that is not running is down at the end (Killed after a
// kill, else Exited), a paused one is Paused, one on no network is
// Disconnected, and each one's last start is a Restart (a new life when the
// container printed lines before it). A container maps to a peer by its
// compose service, name or hostname: through opts.Hostsfile, else through
// the names that printed the run's records. It returns a note per container
// the checker uses, and per container it cannot map.
func ApplyContainers(opts *Options, run *Run, cs []Container) []string {
	learned := map[string]int{}
	if run != nil {
		for id, name := range run.Names {
			learned[name] = id
		}
	}
	idOf := func(c Container) (int, bool) {
		for _, n := range []string{c.Service, c.Name, c.Hostname} {
			if n == "" {
				continue
			}
			if id, ok := resolveName(n, opts.Hostsfile); ok {
				return id, true
			}
		}
		for _, n := range []string{c.Name, c.Service} {
			if id, ok := learned[n]; ok && n != "" {
				return id, true
			}
		}
		return 0, false
	}
	var notes []string
	for _, c := range cs {
		id, ok := idOf(c)
		if !ok {
			notes = append(notes, fmt.Sprintf("%s: not a peer of the hostsfile or the logs; ignored", c.String()))
			continue
		}
		notes = append(notes, fmt.Sprintf("peer %d: %s", id, c.String()))
		switch {
		case c.Killed():
			opts.Killed = append(opts.Killed, id)
		case !c.Running():
			opts.Exited = append(opts.Exited, id)
		case c.Paused || c.Status == "paused":
			opts.Paused = append(opts.Paused, id)
		case c.Disconnected():
			opts.Disconnected = append(opts.Disconnected, id)
		}
		if !c.StartedAt.IsZero() {
			r := Restart{Peer: id, At: c.StartedAt}
			if c.Running() && c.FinishedAt.Before(c.StartedAt) {
				r.Ended = c.FinishedAt
			}
			opts.Restarts = append(opts.Restarts, r)
		}
	}
	return notes
}
