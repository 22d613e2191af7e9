package systest

import (
	"net"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"roster/internal/testkit"
	"roster/lab/labtest"
	"roster/peer/viewlog"
)

// closedAddr returns an address nothing listens at.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// groupLines parses the group lines of a client's output.
func groupLines(out string) []viewlog.GroupRecord {
	var recs []viewlog.GroupRecord
	for _, l := range strings.Split(out, "\n") {
		if r, ok := viewlog.ParseGroup(l); ok {
			recs = append(recs, r)
		}
	}
	return recs
}

// TestClientCommand runs `roster client` processes against a cluster: a
// client that crashes on cue (-c) prints crashing, exits 1 and is removed;
// one stopped with SIGTERM prints leaving, exits 0 and leaves; the other
// prints each group view it sees, the same at every client.
func TestClientCommand(t *testing.T) {
	_, bin := labtest.BuildRoster(t)
	c := newGroupCluster(t, 3)
	c.startAll(3)
	var peers []string
	for id := 1; id <= 3; id++ {
		peers = append(peers, c.Node(id).APIAddr().String())
	}
	dead := closedAddr(t)
	run := func(id string, peerList []string, extra ...string) (*exec.Cmd, *testkit.SyncBuffer, *testkit.SyncBuffer) {
		args := append([]string{"client", "--group", "jobs", "--id", id, "--peers", strings.Join(peerList, ","), "--listen", "127.0.0.1:0", "--wait", "5s"}, extra...)
		cmd := exec.Command(bin, args...)
		var out, errOut testkit.SyncBuffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, &out, &errOut
	}
	// "stays" starts with a peer that is down first in its list.
	stays, staysOut, staysErr := run("stays", []string{dead, peers[1], peers[2]})
	c.waitGroup("jobs", []string{"stays"}, 10*time.Second)
	crasher, crashOut, _ := run("crasher", []string{peers[2]}, "-c", "2", "--check", "http")
	leaver, leaveOut, _ := run("leaver", []string{peers[0]})
	c.waitGroup("jobs", []string{"crasher", "leaver", "stays"}, 10*time.Second)

	if err := crasher.Wait(); err == nil || crasher.ProcessState.ExitCode() != 1 {
		t.Fatalf("the crasher exited with %v, want status 1", err)
	}
	_, took := c.waitGroup("jobs", []string{"leaver", "stays"}, 10*time.Second)
	t.Logf("crasher removed at every peer %s after it exited", took)
	leaver.Process.Signal(syscall.SIGTERM)
	if err := leaver.Wait(); err != nil {
		t.Fatalf("the leaver exited with %v, want 0", err)
	}
	final, _ := c.waitGroup("jobs", []string{"stays"}, 2*time.Second)
	// "stays" prints that final view too.
	testkit.WaitFor(t, 10*time.Second, func() bool {
		recs := groupLines(staysOut.String())
		return len(recs) > 0 && recs[len(recs)-1].Index == final.Index
	}, func() string { return "stays printed:\n" + staysOut.String() + staysErr.String() })
	stays.Process.Signal(syscall.SIGTERM)
	stays.Wait()

	// Each client: joining first, then views in index order, then its end.
	views := map[uint64][]string{}
	for name, out := range map[string]string{"stays": staysOut.String(), "crasher": crashOut.String(), "leaver": leaveOut.String()} {
		recs := groupLines(out)
		if len(recs) < 3 || recs[0].Message != viewlog.Joining {
			t.Fatalf("%s printed:\n%s", name, out)
		}
		last := uint64(0)
		for _, r := range recs[1 : len(recs)-1] {
			if !r.IsView() || r.Index <= last || r.Client != name || r.Group != "jobs" {
				t.Fatalf("%s printed out of order or a stray line %+v:\n%s", name, r, out)
			}
			last = r.Index
			if prev, ok := views[r.Index]; ok && !slices.Equal(prev, r.Members) {
				t.Fatalf("two member lists at group index %d: %v and %v", r.Index, prev, r.Members)
			}
			views[r.Index] = r.Members
		}
		end := recs[len(recs)-1]
		want := map[string]string{"stays": viewlog.Leaving, "crasher": viewlog.Crashing, "leaver": viewlog.Leaving}[name]
		if end.Message != want || end.Index != last {
			t.Fatalf("%s ends with %+v, want %q at its last view %d:\n%s", name, end, want, last, out)
		}
	}
	staysViews := groupLines(staysOut.String())
	sawAll := slices.ContainsFunc(staysViews, func(r viewlog.GroupRecord) bool {
		return slices.Equal(r.Members, []string{"crasher", "leaver", "stays"})
	})
	if !sawAll {
		t.Fatalf("stays never printed the view with all three:\n%s", staysOut.String())
	}
}
