package groupload

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"roster/lab/labtest"
)

// A short real run: three peer processes, clients killed and a peer killed
// and restarted; the history must be linearizable, the files saved, and the
// same history with one read made stale must not be.
func TestWorkloadOnRealPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts peer processes")
	}
	_, bin := labtest.BuildRoster(t)
	out := t.TempDir()
	rep, err := Run(context.Background(), Config{
		Clients: 12, Groups: 2, Peers: 3, Duration: 8 * time.Second, Seed: 7,
		ClientInterval: 500 * time.Millisecond, KillClientsEvery: time.Second,
		KillPeersEvery: 4 * time.Second, PeerDown: 2 * time.Second,
		OpPause: 200 * time.Millisecond, CheckTimeout: time.Minute, Roster: bin, Out: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("the history is not linearizable: %+v", rep.Linearizability)
	}
	if rep.Ops[OpJoin] == nil || rep.Ops[OpJoin].OK < 12 || rep.Ops[OpRead] == nil || rep.Ops[OpRead].OK == 0 {
		t.Errorf("too few calls answered: %+v", rep.Ops)
	}
	if rep.ClientKills == 0 || rep.PeerKills == 0 {
		t.Errorf("%d client kills, %d peer kills; want some of each", rep.ClientKills, rep.PeerKills)
	}
	for _, f := range []string{"history.json", "linearizability.html", "peers.log", "report.json"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not saved: %v", f, err)
		}
	}
	hf, err := os.Open(filepath.Join(out, "history.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	ops, err := ReadJSON(hf)
	if err != nil {
		t.Fatal(err)
	}
	broken, ok := staleRead(ops)
	if !ok {
		t.Fatal("no read in the history to make stale")
	}
	if l, _ := Check(broken, time.Minute, nil); l.Result != "Illegal" {
		t.Errorf("a stale read made consistent judged %s", l.Result)
	}
}

// staleRead returns ops with one read changed to miss a client whose join
// answered before the read began (and who neither left nor was killed
// since): what a read served from a stale copy would return.
func staleRead(ops []Op) ([]Op, bool) {
	out := slices.Clone(ops)
	for i, r := range out {
		if r.Kind != OpRead || !r.OK || len(r.Members) == 0 {
			continue
		}
		for _, m := range r.Members {
			if joinedBefore(out, r, m) {
				r.Members = slices.DeleteFunc(slices.Clone(r.Members), func(x Member) bool { return x.Client == m.Client })
				out[i] = r
				return out, true
			}
		}
	}
	return nil, false
}

// joinedBefore reports whether m's join (at m's incarnation) answered
// before r began and nothing else about m's client started before r ended
// (a leave or a kill concurrent with the read could come first).
func joinedBefore(ops []Op, r Op, m Member) bool {
	var joined bool
	for _, op := range ops {
		if op.Group != r.Group || op.Client != m.Client || op.Start.After(r.End) {
			continue
		}
		switch {
		case op.Kind == OpJoin && op.OK && op.Incarnation == m.Incarnation && op.End.Before(r.Start):
			joined = true
		case op.Kind == OpJoin && op.Failed:
		default:
			return false // another join, a leave or a kill of m
		}
	}
	return joined
}
