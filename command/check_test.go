package command

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const checkdata = "../lab/checker/testdata/"

// runCheck runs "roster check args..." with stdin and returns the exit
// status, stdout and stderr.
func runCheckCmd(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := New(&stdout, &stderr)
	if stdin != nil {
		app.Reader = stdin
	}
	code := run(app, append([]string{"roster", "check"}, args...), &stderr)
	return code, stdout.String(), stderr.String()
}

func TestCheckStatuses(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{checkdata + "tc2_compose_v2_t.log"}, ExitOK, "verdict: PASS"},
		{[]string{checkdata + "tc3_runner.log"}, ExitOK, "crash to removal  4"},
		{[]string{checkdata + "bad_agreement_members.log"}, ExitFailure, "verdict: FAIL (violated: agreement)"},
		{[]string{checkdata + "bad_garbage.log"}, ExitUsage, "CANNOT JUDGE"},
		{[]string{"--killed", "5", checkdata + "killed_v2.log"}, ExitOK, "verdict: PASS"},
		{[]string{"--hostsfile", "../hostsfile.txt", "--killed", "five", checkdata + "killed_v2.log"}, ExitOK, "verdict: PASS"},
		{[]string{"--expect-removals", "4,5", checkdata + "partition.log"}, ExitOK, "2 expected"},
		{[]string{"--hostsfile", "../hostsfile.txt", checkdata + "silent_peer_v1_t.log"}, ExitFailure, "survivor 5 is missing"},
		{[]string{"--hostsfile", "../hostsfile.txt", "--client-deadline", "16s", checkdata + "groups_compose_v1_t.log"}, ExitOK, "group completeness  held"},
		{[]string{"--client-deadline", "10s", checkdata + "groups_compose_v1_t.log"}, ExitFailure, "verdict: FAIL (violated: group completeness)"},
		{[]string{checkdata + "bad_groups_live_removed.log"}, ExitFailure, "verdict: FAIL (violated: group accuracy, group completeness)"},
		{[]string{"--killed-clients", "c2", checkdata + "bad_groups_live_removed.log"}, ExitOK, "1 killed"},
		{[]string{"--client-deadline", "-1s", checkdata + "groups_compose_v1_t.log"}, ExitUsage, ""},
	}
	for _, c := range cases {
		code, out, errOut := runCheckCmd(t, nil, c.args...)
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("check %v: exit %d, want %d; want %q in stdout\nstdout:\n%s\nstderr: %s", c.args, code, c.code, c.out, out, errOut)
		}
	}
}

func TestCheckStdin(t *testing.T) {
	f, err := os.Open(checkdata + "tc1_plain.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	code, out, _ := runCheckCmd(t, f, "-")
	if code != ExitOK || !strings.Contains(out, "1 source,") {
		t.Errorf("exit %d\n%s", code, out)
	}
	code, out, _ = runCheckCmd(t, strings.NewReader("{peer_id:1, view_id: 1, leader: 1, memb_list: [1]}\n"))
	if code != ExitOK || !strings.Contains(out, "the only survivor, 1, ends on view 1") {
		t.Errorf("no args: exit %d\n%s", code, out)
	}
}

func TestCheckBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"/nonexistent/run.log"},
		{checkdata},
		{"--killed", "three", checkdata + "tc1_plain.log"},
		{"--hostsfile", "/nonexistent/hosts", checkdata + "tc1_plain.log"},
	} {
		code, out, errOut := runCheckCmd(t, nil, args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != ExitUsage || out != "" || len(lines) != 1 || !strings.HasPrefix(lines[0], "roster: check: ") {
			t.Errorf("check %v: exit %d, stdout %q, stderr %q; want exit 2 and one line", args, code, out, errOut)
		}
	}
}

func TestCheckJSONAndHTML(t *testing.T) {
	page := filepath.Join(t.TempDir(), "run.html")
	code, out, errOut := runCheckCmd(t, nil, "--json", "--html", page, checkdata+"tc4_compose_v2_t.log")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Verdict    string `json:"verdict"`
		Properties []struct {
			Name    string `json:"name"`
			Verdict string `json:"verdict"`
		} `json:"properties"`
		Figures struct {
			Failover struct {
				Stats *struct {
					N int `json:"n"`
				} `json:"stats"`
			} `json:"leader_failover"`
		} `json:"figures"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if rep.Verdict != "pass" || len(rep.Properties) != 6 || rep.Figures.Failover.Stats == nil || rep.Figures.Failover.Stats.N != 1 {
		t.Errorf("report %+v", rep)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{"<svg", "v7 [2,3,4] L3", "crash", "leader failover", "<!DOCTYPE html>"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "http://", "https://", "src="} {
		if strings.Contains(strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, ""), banned) {
			t.Errorf("page contains %q: it must be self-contained", banned)
		}
	}
}

// fakeDocker puts a docker command on PATH that answers `compose version`,
// `compose ... logs`, `compose ... ps` and `inspect` from recorded testdata,
// and notes every call in the returned file.
func fakeDocker(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	script := "#!/bin/sh\necho \"$*\" >> " + calls + "\n" +
		"case \"$*\" in\n" +
		"'compose version') exit 0 ;;\n" +
		"*'yml -p chk1 logs -t --no-color') cat " + abs(checkdata+"compose_faults_v1_t.log") + " ;;\n" +
		"*' ps -a -q') echo aaa; echo bbb ;;\n" +
		"'inspect aaa bbb') cat " + abs(checkdata+"compose_faults_inspect.json") + " ;;\n" +
		"*) echo \"fake docker: $*\" >&2; exit 1 ;;\n" +
		"esac\n"
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return calls
}

func TestCheckCompose(t *testing.T) {
	calls := fakeDocker(t)
	code, out, errOut := runCheckCmd(t, nil, "--compose", "../../docker-compose-testcase-1.yml", "-p", "chk1")
	if code != ExitOK || !strings.Contains(out, "verdict: PASS") || !strings.Contains(out, "engine: peer 5: chk-five exited 137 (killed)") ||
		!strings.Contains(out, "killed [5], paused [4], disconnected [2] absent from them") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr: %s", code, out, errOut)
	}
	b, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	want := "compose version\n" +
		"compose -f ../../docker-compose-testcase-1.yml -p chk1 logs -t --no-color\n" +
		"compose -f ../../docker-compose-testcase-1.yml -p chk1 ps -a -q\n" +
		"inspect aaa bbb\n"
	if string(b) != want {
		t.Errorf("docker calls:\n%s\nwant:\n%s", b, want)
	}
	// The same log without the engine's word fails.
	code, out, _ = runCheckCmd(t, nil, "--hostsfile", "../hostsfile.txt", checkdata+"compose_faults_v1_t.log")
	if code != ExitFailure || !strings.Contains(out, "accuracy      VIOLATED") {
		t.Errorf("plain log: exit %d\n%s", code, out)
	}
}

func TestCheckComposeErrors(t *testing.T) {
	fakeDocker(t)
	check := func(want string, args ...string) {
		t.Helper()
		code, out, errOut := runCheckCmd(t, nil, args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != ExitUsage || out != "" || len(lines) != 1 || !strings.HasPrefix(lines[0], "roster: check: ") || !strings.Contains(lines[0], want) {
			t.Errorf("check %v: exit %d, stdout %q, stderr %q; want exit 2 and one line saying %q", args, code, out, errOut, want)
		}
	}
	check("give no FILE", "--compose", "../../docker-compose-testcase-1.yml", checkdata+"tc1_plain.log")
	check("--project needs --compose", "-p", "chk1", checkdata+"tc1_plain.log")
	check("fake docker: compose -f x.yml -p other logs", "--compose", "x.yml", "-p", "other", "--hostsfile", "../hostsfile.txt")
	t.Setenv("PATH", t.TempDir()) // no docker at all
	check("neither `docker compose` nor `docker-compose`", "--compose", "../../docker-compose-testcase-1.yml")
}
