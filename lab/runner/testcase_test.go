package runner

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"roster/internal/testkit"
	"roster/lab/checker"
	"roster/lab/labtest"
)

// TestTestCase2WithTheRealPeer runs docker-compose-testcase-2.yml with the
// real roster binary (built from the module root) and checks the outcome
// README.md (test cases) fixes: the checker passes and peers 1-4 end on view 6 [1,2,3,4].
// It takes about 25 s; -short skips it.
func TestTestCase2WithTheRealPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 22 s scenario with real peers; skipped with -short")
	}
	root, bin := labtest.BuildRoster(t)
	sc, err := Load(context.Background(), filepath.Join(root, "docker-compose-testcase-2.yml"))
	if err != nil {
		t.Fatal(err)
	}
	diag := &testkit.SyncBuffer{}
	res, err := Run(context.Background(), sc, Options{Roster: bin, Diag: diag})
	if err != nil {
		t.Fatal(err)
	}
	assertAllGone(t, res)
	if res.Status != 0 {
		t.Fatalf("peers failed: %q\n%s", res.Failures, res.Log)
	}
	v, err := Judge(res, checker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status() != 0 {
		var b strings.Builder
		v.Report.WriteText(&b)
		t.Fatalf("checker status %d:\n%s\nlog:\n%s", v.Status(), b.String(), res.Log)
	}
	final := map[int]checker.FinalView{}
	for _, f := range v.Report.Final {
		final[f.Peer] = f
	}
	for p := 1; p <= 4; p++ {
		if f := final[p]; f.ViewID != 6 || !slices.Equal(f.Members, []int{1, 2, 3, 4}) || f.Crashed {
			t.Errorf("peer %d ends on view %d %v (crashed %v), want alive on view 6 [1,2,3,4]", p, f.ViewID, f.Members, f.Crashed)
		}
	}
	// The survivors' graceful leaves at the end of the run are not judged:
	// completeness and convergence must apply to peers 1-4.
	for _, name := range []string{checker.Completeness, checker.Convergence} {
		if prop, ok := v.Report.Property(name); !ok || prop.Verdict != checker.Held {
			t.Errorf("%s: %+v, want held", name, prop)
		}
	}
	if f := final[5]; !f.Crashed {
		t.Errorf("peer 5 should end crashed: %+v", f)
	}
}
