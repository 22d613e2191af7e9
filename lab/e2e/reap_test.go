package e2e

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// runNameRE matches the compose project names of this package
// (roster-e2e-<pid>-<n>) and of testcase.sh (roster-tc<N>-<pid>-<n>).
var runNameRE = regexp.MustCompile(`^roster-(?:e2e|tc\d+)-(\d+)-\d+$`)

// deadRuns returns the project names among names that belong to a run whose
// process is gone, so nobody will tear them down: a test binary killed by
// `go test -timeout` or SIGKILL cannot run its cleanups.
func deadRuns(names []string, alive func(pid int) bool) []string {
	var dead []string
	for _, name := range names {
		m := runNameRE.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid <= 0 || alive(pid) || slices.Contains(dead, name) {
			continue
		}
		dead = append(dead, name)
	}
	return dead
}

// pidAlive reports whether a process with this id exists.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// reapDeadRuns removes the containers, networks and volumes of the compose
// projects of runs that died without tearing down, and returns their names.
func reapDeadRuns(ctx context.Context) ([]string, error) {
	var projects []string
	for _, q := range [][]string{
		{"ps", "-a", "--filter", "label=" + projectLabel, "--format", `{{.Label "` + projectLabel + `"}}`},
		{"network", "ls", "--filter", "label=" + projectLabel, "--format", `{{.Label "` + projectLabel + `"}}`},
		{"volume", "ls", "--filter", "label=" + projectLabel, "--format", `{{.Label "` + projectLabel + `"}}`},
	} {
		out, err := docker(ctx, q...)
		if err != nil {
			return nil, err
		}
		projects = append(projects, strings.Fields(out)...)
	}
	dead := deadRuns(projects, pidAlive)
	for _, p := range dead {
		filter := "label=" + projectLabel + "=" + p
		if ids, err := docker(ctx, "ps", "-aq", "--filter", filter); err == nil && strings.TrimSpace(ids) != "" {
			if _, err := docker(ctx, append([]string{"rm", "-f"}, strings.Fields(ids)...)...); err != nil {
				return dead, err
			}
		}
		if ids, err := docker(ctx, "network", "ls", "-q", "--filter", filter); err == nil && strings.TrimSpace(ids) != "" {
			if _, err := docker(ctx, append([]string{"network", "rm"}, strings.Fields(ids)...)...); err != nil {
				return dead, err
			}
		}
		if ids, err := docker(ctx, "volume", "ls", "-q", "--filter", filter); err == nil && strings.TrimSpace(ids) != "" {
			if _, err := docker(ctx, append([]string{"volume", "rm"}, strings.Fields(ids)...)...); err != nil {
				return dead, err
			}
		}
	}
	return dead, nil
}

func TestDeadRuns(t *testing.T) {
	alive := func(pid int) bool { return pid == 100 }
	names := []string{
		"roster-e2e-100-5",    // alive
		"roster-e2e-200-7",    // dead
		"roster-e2e-200-7",    // listed twice (container and network)
		"roster-tc3-300-4242", // dead, from testcase.sh
		"roster-e2e-x-1",      // not ours
		"myapp",               // not ours
		"roster-e2e-0-1",      // no such pid
		"roster-tc-400-1",     // not ours (no case number)
	}
	got := deadRuns(names, alive)
	want := []string{"roster-e2e-200-7", "roster-tc3-300-4242"}
	if !slices.Equal(got, want) {
		t.Errorf("deadRuns = %v, want %v", got, want)
	}
}

func TestPidAlive(t *testing.T) {
	if !pidAlive(syscall.Getpid()) {
		t.Error("this process is not alive")
	}
}
