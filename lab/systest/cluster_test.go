package systest

import (
	"os"
	"strings"
	"testing"
	"time"

	"roster/lab/checker"
	"roster/lab/localcluster"
	"roster/peer/config"
	"roster/peer/fsm"
)

// cluster is a localcluster bound to a test: failures stop the test, and
// the peers stop (and their view logs are shown on failure) at its end.
type cluster struct {
	*localcluster.Cluster
	t *testing.T
	// processes is what peers run as processes beside the in-process ones
	// printed (their later lives), judged after the in-process logs.
	processes strings.Builder
	// unjudged skips the checker at the end (a test that leaves no
	// majority cannot end with completeness).
	unjudged bool
	// expect lists peers the test may rightly remove while alive (the
	// minority of a partition), for the checker.
	expect []int
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	lc, err := localcluster.New(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	if level := os.Getenv("ROSTER_TEST_LOG_LEVEL"); level != "" {
		lc.LogLevel = level // the peers' diagnostics on stderr, to chase a failure
	}
	c := &cluster{Cluster: lc, t: t}
	t.Cleanup(func() {
		lc.Close()
		if !t.Failed() && !c.unjudged {
			c.check()
		}
		if t.Failed() {
			t.Logf("view logs:\n%s%s", lc.ViewLogs(), c.processes.String())
		}
	})
	return c
}

// check judges every peer's view log with the checker: every property
// must hold. Crashes and graceful leaves are in the logs themselves.
func (c *cluster) check() {
	c.t.Helper()
	opts := checker.Options{ExpectRemovals: c.expect}
	run, err := checker.Read([]checker.Source{{Name: "views", R: strings.NewReader(c.ViewLogs() + c.processes.String())}}, opts)
	if err != nil {
		c.t.Fatalf("checker: %v", err)
	}
	rep := checker.Check(run, opts)
	if rep.Status() != 0 {
		var b strings.Builder
		rep.WriteText(&b)
		c.t.Errorf("the checker rejects the run:\n%s", b.String())
	}
}

func (c *cluster) start(id int) {
	c.t.Helper()
	if err := c.Start(id); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) waitView(members []int, timeout time.Duration) fsm.View {
	c.t.Helper()
	v, err := c.WaitView(members, timeout)
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

// startAll starts peers 1..n one after the other, each once the previous
// one is in the view, and returns the final view.
func (c *cluster) startAll(n int) fsm.View {
	c.t.Helper()
	var v fsm.View
	for id := 1; id <= n; id++ {
		c.start(id)
		v = c.waitView(ids(1, id), 10*time.Second)
	}
	if n%2 == 1 && n <= config.DefaultVoters {
		// A view holds a joiner before the leader promotes it, and three
		// peers pass through two voters: a leader crash then leaves one
		// voter of two, which can elect nobody. Tests start from the
		// settled cluster.
		c.waitVoters(ids(1, n), ids(1, n), 15*time.Second)
	}
	return v
}

var ids = localcluster.Ids
