package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roster/lab/runner"
	"roster/peer/hostsfile"
)

// errUnsupported is returned by runCase when a peer exits at once saying it
// does not support a flag of the scenario yet.
type errUnsupported struct{ service, line string }

func (e errUnsupported) Error() string { return e.service + ": " + e.line }

// caseRun is the outcome of one compose run.
type caseRun struct {
	Logs    string                    // compose logs -t, run prefix removed
	States  map[string]containerState // service -> state at the end of the run
	LogPath string                    // where Logs was saved
}

// restartAt is a `docker restart` of one service's container at a time
// after the run starts.
type restartAt struct {
	service string
	at      time.Duration
}

// restartMargin bounds how much longer than its scripted length a run with a
// restart may go on: the restarted peer waits its -d (up to 8 s) again, and
// where its leave met the scenario's crashes, the group may wait for it to
// regain a quorum. The run ends as soon as restartSettled holds.
const restartMargin = 40 * time.Second

// runCase runs docker-compose-testcase-N.yml for its scripted length under a
// fresh project, collects the logs, calls atEnd (when not nil) while the
// containers still run, tears down, and checks that nothing of the project is
// left. Teardown also happens if the test fails or is interrupted.
func runCase(t *testing.T, n int, atEnd func(*composeRun) error) (*caseRun, error) {
	t.Helper()
	return runCaseWith(t, n, nil, atEnd)
}

// runCaseWith is runCase, with a `docker restart` of a service during the
// run when restart is not nil (the logs are then kept as
// testcase-N-restart-SERVICE.log).
func runCaseWith(t *testing.T, n int, restart *restartAt, atEnd func(*composeRun) error) (*caseRun, error) {
	t.Helper()
	name := fmt.Sprintf("docker-compose-testcase-%d.yml", n)
	file := filepath.Join(repoRoot, name)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	duration, err := readDuration(f, name)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}

	// The services start in stages by their -d, in the file's order within
	// each (startStages).
	sc, err := runner.Load(baseCtx, file)
	if err != nil {
		t.Fatal(err)
	}
	stages, err := startStages(sc.Services)
	if err != nil {
		t.Fatal(err)
	}
	lockEngine(t, false) // released after the teardown (registered first)
	c := &composeRun{cmd: composeCmd, dir: repoRoot, file: file, project: newProjectName(), stages: stages}
	tornDown := false
	tearDown := func() {
		if tornDown {
			return
		}
		tornDown = true
		if err := c.down(); err != nil {
			t.Errorf("tear down: %v", err)
		}
		active.remove(c)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		left, err := c.leftovers(ctx)
		if err != nil {
			t.Errorf("listing leftovers: %v", err)
		} else if len(left) > 0 {
			t.Errorf("left behind after down: %s", strings.Join(left, ", "))
		}
	}
	active.add(c)
	t.Cleanup(tearDown)
	watchOthersNetworkEvents(t)

	t.Logf("%s for %s, compose project %s (%s)", name, duration, c.project, strings.Join(composeCmd, " "))
	start := time.Now()
	if err := c.up(baseCtx); err != nil {
		t.Fatal(err)
	}
	// Each container counts its -d and -c from its own start: the scripted
	// length counts from the last one's.
	upTook := time.Since(start)
	started, err := c.starts(baseCtx)
	if err != nil {
		t.Fatal(err)
	}
	var first, last time.Time
	for _, at := range started {
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	var offsets []string
	for _, stage := range stages {
		for _, svc := range stage {
			if at, ok := started[svc]; ok {
				offsets = append(offsets, fmt.Sprintf("%s +%s", svc, at.Sub(first).Round(10*time.Millisecond)))
			}
		}
	}
	t.Logf("containers started at %s", strings.Join(offsets, ", "))
	deadline := last.Add(duration)
	scripted := deadline
	hosts, err := hostsfile.Load(filepath.Join(repoRoot, "hostsfile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	restarted := make(chan error, 1)
	if restart != nil {
		ctx, cancel := context.WithCancel(baseCtx) // ends the restart if the test ends first
		defer cancel()
		// The scenario's clock (-d, -c) starts with the containers, which
		// compose may take seconds to create: count from the first one's start.
		t0, err := c.startedAt(baseCtx, "one")
		if err != nil {
			t.Fatal(err)
		}
		// The restarted peer waits its -d again: past the scripted length,
		// the run goes on until it settles (restartSettled), within a margin.
		deadline = scripted.Add(restartMargin)
		go func() {
			select {
			case <-time.After(time.Until(t0.Add(restart.at))):
				// A container compose started late may still wait its -d:
				// restarted then, its first life would print nothing, and
				// the test would not restart a running peer.
				if err := awaitPrinted(ctx, c, hosts, restart.service); err != nil {
					restarted <- err
					return
				}
				// -t 10: the peer's graceful leave takes at most 5 s.
				_, err := docker(ctx, "restart", "-t", "10", c.prefix()+restart.service)
				restarted <- err
			case <-ctx.Done():
				restarted <- ctx.Err()
			}
		}()
	}
	var states []containerState
	for {
		if states, err = c.containers(baseCtx); err != nil {
			t.Fatal(err)
		}
		for _, s := range states {
			if s.exitCode() == 2 { // bad flags or input: no point in waiting
				logs, _ := c.logs(baseCtx)
				line := lastLineOf(logs, s.Service)
				if strings.Contains(line, "not yet supported") {
					return nil, errUnsupported{s.Service, line}
				}
				return nil, fmt.Errorf("%s exited with status 2 (usage): %s\n%s", s.Service, line, logs)
			}
		}
		if restart != nil && time.Now().After(scripted) {
			logs, err := c.logs(baseCtx)
			if err != nil {
				t.Fatal(err)
			}
			if _, lines, err := readRun("run", logs, hosts); err == nil && restartSettled(lines, states, restart.service) {
				break
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		select {
		case <-baseCtx.Done():
			t.Fatal("interrupted")
		case <-time.After(min(left, 2*time.Second)):
		}
	}

	if restart != nil {
		if err := <-restarted; err != nil {
			t.Fatalf("docker restart of %s at %v: %v", restart.service, restart.at, err)
		}
	}
	run := &caseRun{States: map[string]containerState{}}
	for _, s := range states {
		run.States[s.Service] = s
	}
	if run.Logs, err = c.logs(baseCtx); err != nil {
		t.Fatal(err)
	}
	if atEnd != nil {
		if err := atEnd(c); err != nil {
			t.Error(err)
		}
	}
	tearDown()

	dir := filepath.Join(repoRoot, "out", "e2e")
	run.LogPath = filepath.Join(dir, fmt.Sprintf("testcase-%d.log", n))
	if restart != nil {
		run.LogPath = filepath.Join(dir, fmt.Sprintf("testcase-%d-restart-%s.log", n, restart.service))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(run.LogPath, []byte(run.Logs), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("took %s (compose up %s); logs in %s", time.Since(start).Round(100*time.Millisecond), upTook.Round(100*time.Millisecond), run.LogPath)
	return run, nil
}

// lastLineOf returns the last non-empty line the service printed in compose logs.
func lastLineOf(logs, service string) string {
	last := ""
	for _, line := range strings.Split(logs, "\n") {
		name, rest, ok := strings.Cut(line, "|")
		if !ok || strings.TrimSpace(name) != service {
			continue
		}
		rest = strings.TrimSpace(rest)
		if first, after, ok := strings.Cut(rest, " "); ok {
			if _, err := time.Parse(time.RFC3339Nano, first); err == nil {
				rest = strings.TrimSpace(after)
			}
		}
		if rest != "" {
			last = rest
		}
	}
	return last
}

// printedWait bounds how long a restart waits for its service's first view.
const printedWait = 30 * time.Second

// awaitPrinted waits until service has printed a view line, looking at the
// project's logs every half second, for at most printedWait.
func awaitPrinted(ctx context.Context, c *composeRun, hosts *hostsfile.File, service string) error {
	id, ok := hosts.ID(service)
	if !ok {
		return fmt.Errorf("%s is not in the hostsfile", service)
	}
	end := time.Now().Add(printedWait)
	for {
		logs, err := c.logs(ctx)
		if err != nil {
			return err
		}
		if _, lines, err := readRun("run", logs, hosts); err == nil {
			for _, l := range lines {
				if l.Peer == id && l.isView() {
					return nil
				}
			}
		}
		if time.Now().After(end) {
			return fmt.Errorf("%s printed no view within %v of its restart time", service, printedWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
