//go:build !nolab

package command

import (
	"strings"
	"testing"
)

func TestSoakBadInputExitsTwoWithOneLine(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "soak", "--runs", "0"}, "--runs 0: want at least 1"},
		{[]string{"lab", "soak", "--duration", "5s"}, "--duration 5s: want at least"},
		{[]string{"lab", "soak", "--roster", "/nonexistent/roster"}, "roster binary /nonexistent/roster: no such file"},
		{[]string{"lab", "soak", "extra"}, `unexpected argument "extra"`},
		{[]string{"lab", "soak", "--runs", "many"}, "lab soak:"},
		{[]string{"lab", "soak", "loss", "--loss", "2"}, "--loss"},
		{[]string{"lab", "soak", "loss", "--loss", "10%", "--duration", "1s"}, "--duration 1s"},
		{[]string{"lab", "soak", "loss", "--crash-every", "10s", "--down", "20s"}, "--crash-every 10s: want 0 (no kills) or more than --down 20s"},
		{[]string{"lab", "soak", "loss", "--down", "0s"}, "--down 0s: must be positive"},
	} {
		code, _, errOut := runArgs(t, tt.args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != ExitUsage || len(lines) != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: status %d, stderr %q; want 2 and one line containing %q", tt.args, code, errOut, tt.want)
		}
	}
}
