package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"roster/internal/testkit"
)

func TestUpBadInput(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"nodur.yml":  "services:\n  one: {image: roster, command: [-h, hosts.txt]}\n",
		"hosts.txt":  "one\n",
		"stray.yml":  "x-roster: {duration: 1s}\nservices:\n  six: {image: roster, command: [-h, hosts.txt]}\n",
		"empty.yml":  "x-roster: {duration: 1s}\nservices: {}\n",
		"broken.yml": "services: [\n",
	})
	p := func(name string) string { return filepath.Join(dir, name) }
	cases := []struct {
		name string
		cfg  UpConfig
		want string
	}{
		{"no file", UpConfig{}, "give -f FILE"},
		{"missing file", UpConfig{File: p("nope.yml")}, "nope.yml: cannot read: no such file or directory"},
		{"no duration", UpConfig{File: p("nodur.yml")}, "has no x-roster duration: give --duration"},
		{"no services", UpConfig{File: p("empty.yml")}, "no services"},
		{"broken yaml", UpConfig{File: p("broken.yml")}, "broken.yml"},
		{"not in hostsfile", UpConfig{File: p("stray.yml")}, `service six: peer name "six" is not in hostsfile`},
		{"bad log path", UpConfig{File: p("nodur.yml"), Duration: time.Second, LogPath: p("no/such/dir/log")}, "--log"},
		{"bad roster", UpConfig{File: p("nodur.yml"), Duration: time.Second, Roster: p("nope")}, "roster binary"},
	}
	for _, c := range cases {
		var out, errOut strings.Builder
		status := up(context.Background(), c.cfg, &out, &errOut)
		msg := errOut.String()
		if status != 2 || !strings.Contains(msg, c.want) || !strings.HasPrefix(msg, "roster lab up: ") ||
			strings.Count(msg, "\n") != 1 {
			t.Errorf("%s: status %d, stderr %q; want 2 and one line with %q", c.name, status, msg, c.want)
		}
	}
}

func TestUpJudgesTheRunAndWritesTheLog(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"c.yml": threePeers, "hosts.txt": "one\ntwo\nthree\n"})
	var out, errOut testkit.SyncBuffer
	logPath := filepath.Join(dir, "run.log")
	status := up(context.Background(), UpConfig{File: filepath.Join(dir, "c.yml"), Duration: time.Second, LogPath: logPath,
		Timestamps: true, Roster: fakePeer(t)}, &out, &errOut)
	if status != 0 || !strings.Contains(out.String(), "verdict: PASS") {
		t.Fatalf("status %d\nstdout:\n%s\nstderr:\n%s", status, out.String(), errOut.String())
	}
	if !regexp.MustCompile(`(?m)^one   \| \d{4}-\d\d-\d\dT[0-9:.]+Z \{peer_id:1, view_id: 1`).MatchString(out.String()) {
		t.Errorf("--timestamps output:\n%s", out.String())
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(log), "memb_list") != 3 || !stampedLine.MatchString(strings.SplitN(string(log), "\n", 2)[0]) {
		t.Errorf("log file:\n%s", log)
	}

	// A peer that fails makes the command fail, whatever the checker says.
	dir2 := writeFiles(t, map[string]string{"c.yml": `
x-roster: {duration: 1s}
services:
  one: {image: roster}
  two: {image: roster, command: ["-d", "0.1", "--exit-after", "0.1", "--exit-status", "2"]}
`})
	var out2, err2 testkit.SyncBuffer
	if status := up(context.Background(), UpConfig{File: filepath.Join(dir2, "c.yml"), Roster: fakePeer(t)}, &out2, &err2); status != 1 {
		t.Errorf("status %d, want 1; stderr:\n%s", status, err2.String())
	}
	if !strings.HasSuffix(err2.String(), "lab: peer two exited unexpectedly with status 2\n") {
		t.Errorf("stderr does not end with the failure:\n%s", err2.String())
	}
}

// TestUpStopsOnSignals runs Up in a child process (see TestMain), sends it
// SIGINT or SIGTERM mid-run, and checks that it stops every peer and exits
// with the checker's verdict.
func TestUpStopsOnSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"c.yml": strings.Replace(threePeers, "1500ms", "60s", 1), "hosts.txt": "one\ntwo\nthree\n"})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "LAB_TEST_UP_FILE="+filepath.Join(dir, "c.yml"), "LAB_TEST_UP_ROSTER="+fakePeer(t))
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var errOut testkit.SyncBuffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 100)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var pids []int
			var all strings.Builder
			pidRe := regexp.MustCompile(`fake peer \w+ id \d+ start \d+ at \S+ ports \d+ \d+ \d+ pid (\d+)`)
			views := 0
			deadline := time.After(15 * time.Second)
			for views < 3 || len(pids) < 3 {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("lab up ended early:\n%s\nstderr:\n%s", all.String(), errOut.String())
					}
					all.WriteString(l + "\n")
					if m := pidRe.FindStringSubmatch(l); m != nil {
						pid, _ := strconv.Atoi(m[1])
						pids = append(pids, pid)
					}
					if strings.Contains(l, "memb_list") {
						views++
					}
				case <-deadline:
					cmd.Process.Kill()
					t.Fatalf("no 3 view lines and 3 started peers within 15 s:\n%s", all.String())
				}
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			for l := range lines {
				all.WriteString(l + "\n")
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var werr error
			select {
			case werr = <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				t.Fatal("lab up did not exit within 15 s of the signal")
			}
			var ee *exec.ExitError
			if werr != nil && !errors.As(werr, &ee) {
				t.Fatal(werr)
			}
			if werr != nil || !strings.Contains(all.String(), "verdict: PASS") || !strings.Contains(errOut.String(), "interrupted after") {
				t.Errorf("exit %v\nstdout:\n%s\nstderr:\n%s", werr, all.String(), errOut.String())
			}
			if len(pids) != 3 {
				t.Fatalf("pids %v", pids)
			}
			for _, pid := range pids {
				if alive(pid) {
					t.Errorf("peer process %d outlived lab up", pid)
				}
			}
		})
	}
}

func TestUpWritesHTMLAndJSON(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"c.yml": threePeers, "hosts.txt": "one\ntwo\nthree\n"})
	htmlPath := filepath.Join(dir, "report.html")
	var out, errOut testkit.SyncBuffer
	status := up(context.Background(), UpConfig{File: filepath.Join(dir, "c.yml"), Duration: time.Second, HTMLPath: htmlPath,
		JSON: true, Roster: fakePeer(t)}, &out, &errOut)
	if status != 0 {
		t.Fatalf("status %d\nstderr:\n%s", status, errOut.String())
	}
	var doc struct {
		Status   int `json:"status"`
		Services []struct {
			Peer string `json:"peer"`
			ID   int    `json:"id"`
		} `json:"services"`
		Report struct {
			Verdict string `json:"verdict"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(out.String()), &doc); err != nil {
		t.Fatalf("--json stdout is not one JSON document: %v\n%s", err, out.String())
	}
	if doc.Status != 0 || doc.Report.Verdict != "pass" || len(doc.Services) != 3 || doc.Services[2].Peer != "three" || doc.Services[2].ID != 3 {
		t.Errorf("json %+v", doc)
	}
	if !strings.Contains(errOut.String(), "one   | {peer_id:1,") {
		t.Error("with --json the peers' output should go to stderr")
	}
	html, err := os.ReadFile(htmlPath)
	if err != nil || !strings.Contains(string(html), "<html") {
		t.Errorf("html report: %v, %d bytes", err, len(html))
	}
}
