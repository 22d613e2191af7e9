package checker

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// This file is the checker's only contact with Docker: it runs the docker
// CLI (no SDK) to read a compose project's logs and its containers' state.
// Everything it returns is judged by the pure code elsewhere.

// Compose names a compose project to read from the engine.
type Compose struct {
	// File is the compose file (-f).
	File string
	// Project is the project name (-p); "" lets compose choose, as it does
	// for `up` (COMPOSE_PROJECT_NAME or the file's directory).
	Project string
}

// composeCommand returns how to run compose: the `docker compose` plugin
// when it answers, else Debian's `docker-compose` v1 (as the Makefile does).
func composeCommand(ctx context.Context) ([]string, error) {
	if exec.CommandContext(ctx, "docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}, nil
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}, nil
	}
	return nil, fmt.Errorf("neither `docker compose` nor `docker-compose` is available")
}

func (c Compose) args(cmd []string, sub ...string) []string {
	out := append(append([]string(nil), cmd...), "-f", c.File)
	if c.Project != "" {
		out = append(out, "-p", c.Project)
	}
	return append(out, sub...)
}

// Read returns the project's logs (`logs -t --no-color`, every container,
// stopped ones too) and what the engine says about each of its containers
// (`ps -a -q`, then `docker inspect`), read after the logs.
func (c Compose) Read(ctx context.Context) (logs []byte, cs []Container, err error) {
	cmd, err := composeCommand(ctx)
	if err != nil {
		return nil, nil, err
	}
	if logs, err = run(ctx, c.args(cmd, "logs", "-t", "--no-color")...); err != nil {
		return nil, nil, err
	}
	ids, err := run(ctx, c.args(cmd, "ps", "-a", "-q")...)
	if err != nil {
		return nil, nil, err
	}
	idList := strings.Fields(string(ids))
	if len(idList) == 0 {
		return logs, nil, fmt.Errorf("compose project of %s has no containers", c.File)
	}
	js, err := run(ctx, append([]string{"docker", "inspect"}, idList...)...)
	if err != nil {
		return nil, nil, err
	}
	cs, err = ParseInspect(js)
	return logs, cs, err
}

// run runs a command and returns its stdout; its error quotes the command
// and the last line of its stderr.
func run(ctx context.Context, argv ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%s: %s", strings.Join(argv, " "), msg)
	}
	return stdout.Bytes(), nil
}
