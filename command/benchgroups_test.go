//go:build !nolab

package command

import (
	"slices"
	"testing"
)

func TestParseInts(t *testing.T) {
	if got, err := parseInts(" 1000, 10000 ,"); err != nil || !slices.Equal(got, []int{1000, 10000}) {
		t.Errorf("parseInts = %v, %v", got, err)
	}
	for _, bad := range []string{"ten", "0", "-5", "1,x"} {
		if _, err := parseInts(bad); err == nil {
			t.Errorf("parseInts(%q): no error", bad)
		}
	}
	if joinInts([]int{1, 100}) != "1,100" {
		t.Error("joinInts")
	}
}

func TestLabGroupsBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"lab", "groups", "--clients", "0"},
		{"lab", "groups", "--duration", "0s"},
		{"lab", "groups", "extra"},
		{"lab", "bench", "groups", "--cpu-clients", "many"},
		{"lab", "bench", "groups", "--watchers", "0"},
	} {
		code, _, stderr := runArgs(t, args...)
		if code != ExitUsage {
			t.Errorf("roster %v: exit %d, want %d (stderr %q)", args, code, ExitUsage, stderr)
		}
	}
}
