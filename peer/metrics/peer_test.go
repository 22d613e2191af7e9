package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCrashToView(t *testing.T) {
	p := NewPeer()
	p.ViewInstalled(3, []int{1, 2, 3})
	p.CheckStarted(3)
	p.CheckStarted(3) // a second signal: the first one counts
	p.CheckStarted(9) // not a member: no suspicion
	p.ViewInstalled(4, []int{1, 2})
	if n := testutil.CollectAndCount(p.crashToView); n != 1 {
		t.Fatalf("histogram series = %d", n)
	}
	if got := histCount(t, p); got != 1 {
		t.Errorf("crash-to-view observations = %d, want 1", got)
	}
	// A refuted suspicion is resolved: a later removal is no crash-to-view.
	p.ViewInstalled(5, []int{1, 2, 3})
	p.CheckStarted(2)
	p.CheckRefuted(2)
	p.ViewInstalled(6, []int{1, 3})
	if got := histCount(t, p); got != 1 {
		t.Errorf("after a refuted check: observations = %d, want 1", got)
	}
	if got := testutil.ToFloat64(p.checksStarted); got != 4 {
		t.Errorf("checks started = %v, want 4", got)
	}
	if got := testutil.ToFloat64(p.checksRefuted); got != 1 {
		t.Errorf("checks refuted = %v, want 1", got)
	}
	if got := testutil.ToFloat64(p.viewID); got != 6 {
		t.Errorf("view id = %v, want 6", got)
	}
	if got := testutil.ToFloat64(p.members); got != 2 {
		t.Errorf("members = %v, want 2", got)
	}
}

func histCount(t *testing.T, p *Peer) uint64 {
	t.Helper()
	fams, err := p.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "roster_crash_to_view_seconds" {
			return f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatal("no roster_crash_to_view_seconds")
	return 0
}

func TestLeaderChanges(t *testing.T) {
	p := NewPeer()
	for _, id := range []int{1, 1, 0, 3, 3, 1} {
		p.LeaderObserved(id)
	}
	if got := testutil.ToFloat64(p.leaderChanges); got != 4 {
		t.Errorf("leader changes = %v, want 4 (1, none, 3, 1)", got)
	}
	if got := testutil.ToFloat64(p.leader); got != 1 {
		t.Errorf("leader = %v, want 1", got)
	}
}

func TestStepsAndGroups(t *testing.T) {
	p := NewPeer()
	p.ReconcileStep("commit", StepOK)
	p.ReconcileStep("commit", StepOK)
	p.ReconcileStep("promote", StepFailed)
	if got := testutil.ToFloat64(p.reconcileSteps.WithLabelValues("commit", StepOK)); got != 2 {
		t.Errorf("commit ok = %v", got)
	}
	p.GroupSize("web", 4)
	p.GroupSize("db", 2)
	p.GroupSize("web", 3)
	p.GroupExpired("web")
	if got := testutil.ToFloat64(p.groupMembers.WithLabelValues("web")); got != 3 {
		t.Errorf("group web members = %v", got)
	}
	if got := testutil.ToFloat64(p.groupClients); got != 5 {
		t.Errorf("clients of all groups = %v, want 5", got)
	}
	p.GroupGone("web")
	if n := testutil.CollectAndCount(p.groupMembers); n != 1 {
		t.Errorf("group series after GroupGone(web) = %d, want 1", n)
	}
	if got, clients := testutil.ToFloat64(p.groupCount), testutil.ToFloat64(p.groupClients); got != 1 || clients != 2 {
		t.Errorf("after GroupGone(web): %v groups, %v clients; want 1, 2", got, clients)
	}
	if got := testutil.ToFloat64(p.expirations); got != 1 {
		t.Errorf("expirations of all groups = %v, want 1 (kept after the group is gone)", got)
	}
}

// TestNilPeer checks that a nil *Peer records nothing and does not panic.
func TestNilPeer(t *testing.T) {
	var p *Peer
	p.ViewInstalled(1, []int{1})
	p.LeaderObserved(1)
	p.CheckStarted(1)
	p.CheckConfirmed(1)
	p.CheckRefuted(1)
	p.ReconcileStep("commit", StepOK)
	p.GroupSize("g", 1)
	p.GroupExpired("g")
	p.GroupGone("g")
	if _, err := p.Gatherer().Gather(); err != nil {
		t.Error(err)
	}
}
