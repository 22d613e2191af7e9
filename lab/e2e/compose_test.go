package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// projectLabel is the label compose (v1 and v2) puts on the containers,
// networks and volumes of a project.
const projectLabel = "com.docker.compose.project"

// detectCompose returns the compose command: $COMPOSE if set, else
// `docker compose` if `docker compose version` works, else `docker-compose`.
func detectCompose() ([]string, error) {
	if c := strings.Fields(os.Getenv("COMPOSE")); len(c) > 0 {
		return c, nil
	}
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}, nil
	}
	if exec.Command("docker-compose", "version").Run() == nil {
		return []string{"docker-compose"}, nil
	}
	return nil, fmt.Errorf("neither `docker compose` nor `docker-compose` works")
}

// newProjectName returns a compose project name unique to this process and
// call: roster-e2e-<pid>-<random>. reapDeadRuns relies on the pid.
func newProjectName() string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("roster-e2e-%d-%d", os.Getpid(), binary.BigEndian.Uint32(b[:])%1000000)
}

// composeRun is one compose project: one test case file under one project
// name. Container names carry the project as prefix (ROSTER_RUN) so that runs
// do not collide. Not safe for concurrent use.
type composeRun struct {
	cmd     []string // "docker compose" or "docker-compose"
	dir     string   // working directory (the repository root)
	file    string   // compose file
	project string
	env     []string // more environment for compose ("NAME=value")
	// stages, when not empty, are the services in the order up starts
	// them: each stage's all at once, once every one of the stage before
	// it has started (startInStages).
	stages [][]string
}

// prefix is what ROSTER_RUN puts in front of every container name.
func (c *composeRun) prefix() string { return c.project + "-" }

// run runs one compose subcommand and returns its stdout; the error carries stderr.
func (c *composeRun) run(ctx context.Context, args ...string) ([]byte, error) {
	return c.runFiles(ctx, []string{c.file}, args...)
}

// runFiles is run with these compose files (-f each, in order) in place of
// c.file.
func (c *composeRun) runFiles(ctx context.Context, files []string, args ...string) ([]byte, error) {
	full := append([]string{}, c.cmd[1:]...)
	full = append(full, "-p", c.project)
	for _, f := range files {
		full = append(full, "-f", f)
	}
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, c.cmd[0], full...)
	cmd.Dir = c.dir
	cmd.Env = append(append(os.Environ(), "COMPOSE_PROJECT_NAME="+c.project, "ROSTER_RUN="+c.prefix()), c.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %v: %s", strings.Join(c.cmd, " "), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// up creates the project's containers, then starts them: creating is the
// slow part on a loaded engine (seconds a container), and each container
// counts its -d and -c from its own start, so starting them after all are
// created keeps the scenario's offsets. With c.stages the containers start
// stage by stage (startInStages); else compose starts them all at once.
func (c *composeRun) up(ctx context.Context) error {
	if _, err := c.run(ctx, "up", "--no-start"); err != nil {
		return err
	}
	if len(c.stages) > 0 {
		return c.startInStages(ctx)
	}
	_, err := c.run(ctx, "start")
	return err
}

// startInStages starts the project's containers stage by stage, each stage
// once every container of the one before it has started, with one `compose
// start`: an override file makes each service depend on every service of
// the stage before. Compose (v1 and v2) starts services without
// dependencies all at once, in no set order, and a loaded engine may take
// seconds to start any one of them: a test case's peers, whose -d offsets
// count from their own container's start, could then join out of the
// scripted order (test case 2 did, three projects at a time). Stage by
// stage, a peer's -d counts from a start no earlier than those of the peers
// scripted before it, so the scripted gaps between joins are kept or grow.
// The override serves the start only: up --no-start creates the containers
// all at once (dependencies would serialise the creation too), and the
// other commands need no order.
func (c *composeRun) startInStages(ctx context.Context) error {
	var y strings.Builder
	y.WriteString("services:\n")
	for i := 1; i < len(c.stages); i++ {
		var deps []string
		for _, svc := range c.stages[i-1] {
			deps = append(deps, strconv.Quote(svc))
		}
		for _, svc := range c.stages[i] {
			fmt.Fprintf(&y, "  %s:\n    depends_on: [%s]\n", strconv.Quote(svc), strings.Join(deps, ", "))
		}
	}
	f, err := os.CreateTemp("", c.project+"-start-*.yml")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(y.String()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	_, err = c.runFiles(ctx, []string{c.file, f.Name()}, "start")
	return err
}

// logs returns `compose logs --no-color -t` with the ROSTER_RUN prefix removed
// from container names, so the log reads like a plain `docker-compose up`.
func (c *composeRun) logs(ctx context.Context) (string, error) {
	out, err := c.run(ctx, "logs", "--no-color", "-t")
	return strings.ReplaceAll(string(out), c.prefix(), ""), err
}

// down removes the project's containers, networks and volumes. It uses its
// own deadline so that it also runs after the caller's context is done.
func (c *composeRun) down() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := c.run(ctx, "down", "-v", "--remove-orphans", "-t", "3")
	return err
}

// containerState is one container of a project, from `docker ps -a`.
type containerState struct {
	Service string
	Status  string // e.g. "Up 3 seconds", "Exited (1) 2 seconds ago"
}

// exitCode returns the container's exit status, or -1 if it is still running.
func (s containerState) exitCode() int {
	var code int
	if _, err := fmt.Sscanf(s.Status, "Exited (%d)", &code); err != nil {
		return -1
	}
	return code
}

// containers lists the project's containers, running or not.
func (c *composeRun) containers(ctx context.Context) ([]containerState, error) {
	out, err := docker(ctx, "ps", "-a", "--filter", "label="+projectLabel+"="+c.project,
		"--format", `{{.Label "com.docker.compose.service"}}`+"\t{{.Status}}")
	if err != nil {
		return nil, err
	}
	var states []containerState
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if service, status, ok := strings.Cut(line, "\t"); ok {
			states = append(states, containerState{Service: service, Status: status})
		}
	}
	return states, nil
}

// leftovers lists whatever of the project is still on the Docker engine:
// containers, networks and volumes, by project label and by name.
func (c *composeRun) leftovers(ctx context.Context) ([]string, error) {
	queries := [][]string{
		{"ps", "-a", "--filter", "label=" + projectLabel + "=" + c.project, "--format", "container {{.Names}}"},
		{"ps", "-a", "--filter", "name=" + c.project, "--format", "container {{.Names}}"},
		{"network", "ls", "--filter", "label=" + projectLabel + "=" + c.project, "--format", "network {{.Name}}"},
		{"network", "ls", "--filter", "name=" + c.project, "--format", "network {{.Name}}"},
		{"volume", "ls", "--filter", "label=" + projectLabel + "=" + c.project, "--format", "volume {{.Name}}"},
	}
	seen := map[string]bool{}
	var left []string
	for _, q := range queries {
		out, err := docker(ctx, q...)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line != "" && !seen[line] {
				seen[line] = true
				left = append(left, line)
			}
		}
	}
	return left, nil
}

// docker runs the docker CLI and returns its stdout; the error carries stderr.
func docker(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// starts returns when each of the project's containers (by service) last
// started.
func (c *composeRun) starts(ctx context.Context) (map[string]time.Time, error) {
	states, err := c.containers(ctx)
	if err != nil {
		return nil, err
	}
	at := map[string]time.Time{}
	for _, st := range states {
		t, err := c.startedAt(ctx, st.Service)
		if err != nil {
			return nil, err
		}
		at[st.Service] = t
	}
	return at, nil
}

// startedAt returns when the container of service last started.
func (c *composeRun) startedAt(ctx context.Context, service string) (time.Time, error) {
	out, err := docker(ctx, "inspect", "-f", "{{.State.StartedAt}}", c.prefix()+service)
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, strings.TrimSpace(out))
}
