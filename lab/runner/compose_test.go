package runner

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const composeSample = `
x-roster:
  duration: 7s
  expect_removals: [one, 2]
services:
  zed:
    image: roster
    hostname: one
    container_name: ${ROSTER_RUN:-}one
    command: ["-h", "hosts/peers.txt"]
    networks: [roster]
  alpha:
    image: roster-that-does-not-exist
    command: -h hosts/peers.txt -d 2 -c 4
    restart: on-failure
    environment:
      ROSTER_LOG_LEVEL: info
  mid:
    image: roster
    command: ["roster", "-h", "hosts/peers.txt"]
    restart: "on-failure:3"
  tool:
    image: roster
    command: ["nemesis", "--at", "15s"]
    deploy:
      restart_policy:
        condition: on-failure
networks:
  roster: {}
`

func TestLoadReadsServicesInFileOrder(t *testing.T) {
	dir := writeFiles(t, map[string]string{"sub/c.yml": composeSample})
	sc, err := Load(context.Background(), filepath.Join(dir, "sub", "c.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Duration != 7*time.Second {
		t.Errorf("duration %v, want 7s", sc.Duration)
	}
	if !slices.Equal(sc.ExpectRemovals, []string{"one", "2"}) {
		t.Errorf("expect_removals %q", sc.ExpectRemovals)
	}
	if sc.Dir != filepath.Join(dir, "sub") {
		t.Errorf("dir %q, want the compose file's directory", sc.Dir)
	}
	var names, peers []string
	for _, s := range sc.Services {
		names = append(names, s.Name)
		peers = append(peers, s.Peer)
	}
	if want := []string{"zed", "alpha", "mid", "tool"}; !slices.Equal(names, want) {
		t.Errorf("services %v, want file order %v", names, want)
	}
	if want := []string{"one", "alpha", "mid", "tool"}; !slices.Equal(peers, want) {
		t.Errorf("peer names %v, want %v (hostname when set)", peers, want)
	}
	alpha := sc.Services[1]
	if want := []string{"-h", "hosts/peers.txt", "-d", "2", "-c", "4"}; !slices.Equal(alpha.Args, want) {
		t.Errorf("alpha args %q, want %q", alpha.Args, want)
	}
	if alpha.Restart != (RestartPolicy{Mode: RestartOnFailure}) {
		t.Errorf("alpha restart %+v", alpha.Restart)
	}
	if !slices.Contains(alpha.Env, "ROSTER_LOG_LEVEL=info") {
		t.Errorf("alpha env %q lacks ROSTER_LOG_LEVEL=info", alpha.Env)
	}
	mid := sc.Services[2]
	if mid.Args[0] != "-h" {
		t.Errorf("mid args %q: a leading roster should be dropped", mid.Args)
	}
	if mid.Restart != (RestartPolicy{Mode: RestartOnFailure, MaxRetries: 3}) {
		t.Errorf("mid restart %+v", mid.Restart)
	}
	tool := sc.Services[3]
	if !tool.Tool() || sc.Services[0].Tool() {
		t.Errorf("Tool(): tool %v, zed %v", tool.Tool(), sc.Services[0].Tool())
	}
	if tool.Restart.Mode != RestartOnFailure {
		t.Errorf("deploy.restart_policy ignored: %+v", tool.Restart)
	}
}

func TestLoadWithoutDurationLeavesItZero(t *testing.T) {
	dir := writeFiles(t, map[string]string{"c.yml": "services:\n  one:\n    image: roster\n"})
	sc, err := Load(context.Background(), filepath.Join(dir, "c.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Duration != 0 || len(sc.Services) != 1 || sc.Services[0].Args != nil {
		t.Errorf("got %+v", sc)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"missing", "", "cannot read: no such file or directory"},
		{"no services", "services: {}\n", "no services"},
		{"not yaml", "services: [\n", "c.yml"},
		{"bad duration", "x-roster: {duration: soon}\nservices:\n  one: {image: roster}\n", `x-roster.duration "soon"`},
		{"negative duration", "x-roster: {duration: -3s}\nservices:\n  one: {image: roster}\n", "must be positive"},
		{"unknown removal", "x-roster: {expect_removals: [nobody]}\nservices:\n  one: {image: roster}\n", `no service runs a peer called "nobody"`},
		{"bad removal id", "x-roster: {expect_removals: [0]}\nservices:\n  one: {image: roster}\n", "0 is not a peer id"},
		{"removals not a list", "x-roster: {expect_removals: one}\nservices:\n  one: {image: roster}\n", "want a list"},
		{"bad restart", "services:\n  one: {image: roster, restart: sometimes}\n", "restart"},
		{"same peer name", "services:\n  one: {image: roster}\n  two: {image: roster, hostname: one}\n", `services one and two both have the peer name "one"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{}
			if c.name != "missing" {
				files["c.yml"] = c.content
			}
			dir := writeFiles(t, files)
			_, err := Load(context.Background(), filepath.Join(dir, "c.yml"))
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an InputError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "c.yml") || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming c.yml and containing %q", msg, c.want)
			}
		})
	}
}

func TestLoadRepositoryTestCases(t *testing.T) {
	for i, want := range []time.Duration{20 * time.Second, 22 * time.Second, 35 * time.Second, 25 * time.Second} {
		path := filepath.Join("..", "..", "docker-compose-testcase-"+string(rune('1'+i))+".yml")
		if !fileExists(path) {
			continue
		}
		sc, err := Load(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Duration != want || len(sc.Services) != 5 || sc.Services[0].Peer != "one" || sc.Services[4].Peer != "five" {
			t.Errorf("%s: duration %v, %d services, first %q", path, sc.Duration, len(sc.Services), sc.Services[0].Peer)
		}
	}
}

func TestParseRestart(t *testing.T) {
	for in, want := range map[string]RestartPolicy{
		"": {}, "no": {}, "always": {Mode: RestartAlways}, "unless-stopped": {Mode: RestartUnlessStopped},
		"on-failure": {Mode: RestartOnFailure}, "on-failure:2": {Mode: RestartOnFailure, MaxRetries: 2},
	} {
		got, err := ParseRestart(in)
		if err != nil || got != want {
			t.Errorf("ParseRestart(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yes", "on-failure:", "on-failure:-1", "on-failure:x", "on-failure:1x"} {
		if _, err := ParseRestart(bad); err == nil {
			t.Errorf("ParseRestart(%q) accepted", bad)
		}
	}
	onf := RestartPolicy{Mode: RestartOnFailure, MaxRetries: 2}
	if !onf.restarts(true, 0) || !onf.restarts(true, 1) || onf.restarts(true, 2) || onf.restarts(false, 0) {
		t.Error("on-failure:2 restarts wrongly")
	}
	if !(RestartPolicy{Mode: RestartAlways}).restarts(false, 100) || (RestartPolicy{}).restarts(true, 0) {
		t.Error("always/no restart wrongly")
	}
}
