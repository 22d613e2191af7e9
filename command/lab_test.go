//go:build !nolab

package command

import (
	"strings"
	"testing"
)

func TestLabUpBadInputIsOneLineAndStatus2(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "up", "--bogus"}, "roster: lab up: flag provided but not defined: -bogus"},
		{[]string{"lab", "up", "-f", "x.yml", "--duration", "soon"}, `invalid value "soon" for flag -duration`},
		{[]string{"lab", "up"}, "roster lab up: no compose file: give -f FILE"},
		{[]string{"lab", "up", "-f", "does-not-exist.yml"}, "does-not-exist.yml: cannot read: no such file or directory"},
		{[]string{"lab", "up", "-f", "x.yml", "stray"}, `unexpected argument "stray"`},
		{[]string{"lab", "down"}, `roster: lab: unknown command "down"`},
	} {
		var out, errOut strings.Builder
		status := run(New(&out, &errOut), append([]string{"roster"}, c.args...), &errOut)
		msg := errOut.String()
		if status != ExitUsage || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("roster %s: status %d, stderr %q; want %d and one line with %q", strings.Join(c.args, " "), status, msg, ExitUsage, c.want)
		}
	}
}
