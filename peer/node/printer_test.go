package node

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roster/peer/fsm"
	"roster/peer/viewlog"
)

func TestParseMarker(t *testing.T) {
	for in, want := range map[string]uint64{"0\n": 0, "7\n": 7, "41": 41, "18446744073709551615\n": 1<<64 - 1} {
		if got, err := parseMarker([]byte(in)); err != nil || got != want {
			t.Errorf("parseMarker(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "\n", "abc", "-1\n", "+3\n", " 3\n", "3 \n", "3\n\n", "0x10", "18446744073709551616\n", strings.Repeat("9", 40), "1e3"} {
		if got, err := parseMarker([]byte(in)); err == nil {
			t.Errorf("parseMarker(%q) = %d, want an error", in, got)
		}
	}
}

// newTestPrinter returns a printer for peer 1 over dir, and its view log.
func newTestPrinter(t *testing.T, dir string) (*printer, *bytes.Buffer, *logBuffer) {
	t.Helper()
	var views bytes.Buffer
	faults, diag := testFaults(t)
	return newPrinter(1, viewlog.New(&views, 1), dir, nil, faults.log, faults), &views, diag
}

func TestPrinterSettle(t *testing.T) {
	install := func(p *printer) {
		for id := uint64(1); id <= 5; id++ {
			p.installed(fsm.View{ID: id, Leader: 1, Members: []int{1}}, false)
		}
	}
	cases := []struct {
		marker    string // "" for no file
		lastKnown uint64
		printed   int // lines printed out of views 1..5
		warn      string
	}{
		{"", 5, 5, ""},    // a new peer prints everything
		{"3\n", 5, 2, ""}, // a restarted one goes on after its marker
		{"abc", 3, 2, "printed-view file unreadable"},
		{"999999\n", 4, 1, "names a view beyond the local store"},
		{"5\n", 5, 0, ""},
	}
	for _, c := range cases {
		dir := t.TempDir()
		if c.marker != "" {
			os.WriteFile(filepath.Join(dir, markerFile), []byte(c.marker), 0o644)
		}
		p, views, diag := newTestPrinter(t, dir)
		p.settle(c.lastKnown)
		install(p)
		if n := strings.Count(views.String(), "memb_list"); n != c.printed {
			t.Errorf("marker %q, store up to view %d: printed %d views, want %d:\n%s", c.marker, c.lastKnown, n, c.printed, views)
		}
		if c.warn != "" && !strings.Contains(diag.String(), c.warn) || c.warn == "" && diag.String() != "" {
			t.Errorf("marker %q: diagnostics %q, want %q", c.marker, diag.String(), c.warn)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, markerFile)); string(b) != "5\n" {
			t.Errorf("marker %q: file holds %q after view 5, want \"5\\n\"", c.marker, b)
		}
	}
}

func TestPrinterMarkerWriteFails(t *testing.T) {
	dir := t.TempDir()
	p, views, diag := newTestPrinter(t, dir)
	p.settle(0)
	// A directory where the file should be: every write fails.
	os.Mkdir(filepath.Join(dir, markerFile), 0o755)
	p.installed(fsm.View{ID: 1, Leader: 1, Members: []int{1}}, false)
	if !strings.Contains(views.String(), "view_id: 1") {
		t.Fatalf("the view was not printed: %q", views)
	}
	if !strings.Contains(diag.String(), "[ERROR]") || !strings.Contains(diag.String(), opMarker) {
		t.Fatalf("want an error line, got %q", diag.String())
	}
	if cur := p.faults.current(); len(cur) != 1 || !strings.HasPrefix(cur[0], opMarker) {
		t.Fatalf("faults %q", cur)
	}
	os.Remove(filepath.Join(dir, markerFile))
	p.installed(fsm.View{ID: 2, Leader: 1, Members: []int{1}}, false)
	if cur := p.faults.current(); len(cur) != 0 {
		t.Fatalf("after a good write: faults %q", cur)
	}
}

// FuzzParseMarker: no input panics, and what parses is the canonical form
// of a number (so that writing it back gives the same bytes, newline aside).
func FuzzParseMarker(f *testing.F) {
	for _, s := range []string{"0\n", "12\n", "abc", "999999\n", "", "18446744073709551616"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := parseMarker(b)
		if err != nil {
			return
		}
		s := strings.TrimSuffix(string(b), "\n")
		if got := strings.TrimLeft(s, "0"); got != strings.TrimLeft(uitoa(v), "0") {
			t.Fatalf("parseMarker(%q) = %d", b, v)
		}
	})
}

func uitoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}
