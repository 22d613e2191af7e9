package e2e

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// readDuration returns the scripted length of a compose test case: the
// `duration:` under the top-level `x-roster:` key, in Go's duration syntax.
func readDuration(r io.Reader, name string) (time.Duration, error) {
	sc := bufio.NewScanner(r)
	in := false
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		top := text[0] != ' ' && text[0] != '\t'
		if top {
			in = strings.HasPrefix(text, "x-roster:")
			continue
		}
		if !in {
			continue
		}
		key, value, ok := strings.Cut(trimmed, ":")
		if !ok || strings.TrimSpace(key) != "duration" {
			continue
		}
		value = strings.TrimSpace(value)
		if i := strings.Index(value, " #"); i >= 0 {
			value = strings.TrimSpace(value[:i])
		}
		value = strings.Trim(value, `"'`)
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("%s:%d: x-roster duration %q: want a positive duration like 20s", name, line, value)
		}
		return d, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%s: %v", name, err)
	}
	return 0, fmt.Errorf("%s: no x-roster: duration: (the scenario's scripted length)", name)
}

func TestReadDuration(t *testing.T) {
	good := []struct {
		text string
		want time.Duration
	}{
		{"x-roster:\n  duration: 20s\n\nservices:\n  one:\n    image: roster\n", 20 * time.Second},
		{"# c\nservices:\n  one: {}\nx-roster:\n  # the length\n  duration: \"1m30s\" # note\n", 90 * time.Second},
		{"x-roster:\n  other: 1\n  duration: '35s'\n", 35 * time.Second},
	}
	for _, tc := range good {
		got, err := readDuration(strings.NewReader(tc.text), "f.yml")
		if err != nil || got != tc.want {
			t.Errorf("readDuration(%q) = %v, %v; want %v", tc.text, got, err, tc.want)
		}
	}
	bad := []string{
		"",
		"services:\n  one:\n    duration: 20s\n",
		"x-roster:\n  duration: soon\n",
		"x-roster:\n  duration: -5s\n",
		"x-roster: {}\nservices:\n  duration: 5s\n",
	}
	for _, text := range bad {
		if d, err := readDuration(strings.NewReader(text), "f.yml"); err == nil {
			t.Errorf("readDuration(%q) = %v, want an error", text, d)
		} else if !strings.HasPrefix(err.Error(), "f.yml") {
			t.Errorf("readDuration(%q): error %q does not name the file", text, err)
		}
	}
}
