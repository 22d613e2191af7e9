package command

import (
	"strings"
	"testing"
)

func TestNemesisBadArgumentsExitTwoWithOneLine(t *testing.T) {
	hosts := writeFile(t, "hosts", "one\ntwo\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"nemesis"}, "no steps"},
		{[]string{"nemesis", "-h", hosts, "--at", "5s", "explode"}, `"explode" is not an action`},
		{[]string{"nemesis", "--bogus", "--at", "5s", "heal"}, `unknown option "--bogus"`},
		{[]string{"nemesis", "--at", "5s", "heal"}, "no peers: give -h HOSTSFILE"},
		{[]string{"nemesis", "-h", "/nonexistent/hosts", "--at", "5s", "heal"}, "/nonexistent/hosts"},
	} {
		t.Setenv("ROSTER_LAB_PEERS", "")
		code, _, errOut := runArgs(t, tt.args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != ExitUsage || len(lines) != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: status %d, stderr %q; want 2 and one line containing %q", tt.args, code, errOut, tt.want)
		}
	}
}

func TestNemesisDryRunPrintsPeersAndSchedule(t *testing.T) {
	t.Setenv("ROSTER_LAB_PEERS", "")
	hosts := writeFile(t, "hosts", "one\ntwo\nthree\n")
	code, out, errOut := runArgs(t, "nemesis", "-h", hosts, "--dry-run", "--at", "35s", "heal", "--at", "15s", "partition", "1/2,3")
	if code != ExitOK {
		t.Fatalf("status %d: %s", code, errOut)
	}
	for _, want := range []string{"one(1)=one:8082 two(2)=two:8082 three(3)=three:8082", "schedule: --at 15s partition 1/2,3 --at 35s heal"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runArgs(t, "nemesis", "--help")
	if code != ExitOK || !strings.Contains(out, "pause PEER 10s") {
		t.Errorf("--help: status %d\n%s", code, out)
	}
}
