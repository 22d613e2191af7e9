package command

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestGroupCommandsBadInputExitTwoWithOneLine(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	peers := "--peers=127.0.0.1:1"
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no group", []string{"client", "--id", "c1", peers}, "--group is required"},
		{"long id", []string{"client", "--group", "g", "--id", strings.Repeat("x", 129), peers}, "--id is 129 bytes long"},
		{"no peers", []string{"client", "--group", "g", "--id", "c1", "--peers", ""}, "--peers is required"},
		{"bad peer", []string{"client", "--group", "g", "--id", "c1", "--peers", "one"}, "\"one\" is not HOST:PORT"},
		{"bad check", []string{"client", "--group", "g", "--id", "c1", peers, "--check", "ping"}, "--check \"ping\""},
		{"bad meta", []string{"client", "--group", "g", "--id", "c1", peers, "--meta", "[1]"}, "--meta"},
		{"bad crash", []string{"client", "--group", "g", "--id", "c1", peers, "-c", "-1"}, "--crash-after"},
		{"listen in use", []string{"client", "--group", "g", "--id", "c1", peers, "--listen", taken.Addr().String()}, "address already in use"},
		{"stray argument", []string{"client", "--group", "g", "--id", "c1", peers, "extra"}, "unexpected argument"},
		{"group without name", []string{"group"}, "want one group name"},
		{"group with a bad name", []string{"group", strings.Repeat("g", 200)}, "group is 200 bytes long"},
		{"groups with an argument", []string{"groups", "x"}, "unexpected argument"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("ROSTER_LAB_PEERS", "")
			code, _, stderr := runArgs(t, c.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitUsage, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], c.want) {
				t.Errorf("stderr %q, want one line containing %q", stderr, c.want)
			}
		})
	}
}

func TestGroupsWithNoPeerFails(t *testing.T) {
	addr := "--addr=127.0.0.1:" + itoa(freePort(t))
	for _, args := range [][]string{{"groups", addr}, {"group", addr, "jobs"}} {
		code, _, stderr := runArgs(t, args...)
		if code != ExitFailure || !strings.Contains(stderr, "connection refused") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and one line", args, code, stderr)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
