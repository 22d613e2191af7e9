//go:build !nolab

package command

import (
	"strings"
	"testing"
)

func TestLabPeersBadInput(t *testing.T) {
	named := writeFile(t, "named", "one 127.0.0.1\ntwo\n")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"lab", "peers"}, "lab peers: a hostsfile is required"},
		{[]string{"lab", "peers", "-h", named}, "peer two has no IP address"},
		{[]string{"lab", "peers", "-h", "/nonexistent/hosts"}, "cannot read"},
		{[]string{"lab", "peers", "-h", named, "extra"}, "unexpected argument"},
	}
	for _, c := range cases {
		code, _, stderr := runArgs(t, c.args...)
		if code != ExitUsage || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want %d and one line with %q", c.args, code, stderr, ExitUsage, c.want)
		}
	}
}
