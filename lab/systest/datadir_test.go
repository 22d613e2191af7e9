package systest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"roster/internal/testkit"
	"roster/lab/labtest"
	"roster/lab/localcluster"
	"roster/peer/api"
	"roster/peer/config"
	"roster/peer/viewlog"
)

// clusterID reads the cluster id kept in a data dir.
func clusterID(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "cluster-id"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// oldCluster runs a two-peer cluster in its own directory until both are
// in view 2, stops it, and returns the directory (p1/, p2/ hold the data).
func oldCluster(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	lc, err := localcluster.New(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	for id := 1; id <= 2; id++ {
		if err := lc.Start(id); err != nil {
			t.Fatal(err)
		}
		if _, err := lc.WaitView(ids(1, id), 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// peerProcess runs the real roster binary as peer id of c with data dir
// dataDir, and returns its exit status and stderr once it exits (or is
// stopped by stop, or after timeout).
type peerProcess struct {
	cmd    *exec.Cmd
	stderr testkit.SyncBuffer
	done   chan struct{}
	err    error
}

// output returns what the process wrote to stderr so far.
func (p *peerProcess) output() string { return p.stderr.String() }

func startProcess(t *testing.T, bin string, c *cluster, id int, dataDir string) *peerProcess {
	t.Helper()
	p := &peerProcess{done: make(chan struct{})}
	p.cmd = exec.Command(bin, "-h", c.Hostsfile(), "--name", "p"+strconv.Itoa(id), "--bind", c.Addr(id),
		"--raft-port", strconv.Itoa(localcluster.RaftPort), "--gossip-port", strconv.Itoa(localcluster.GossipPort),
		"--api-port", strconv.Itoa(localcluster.APIPort), "--data-dir", dataDir)
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// exit waits for the process to end and returns its status and stderr.
func (p *peerProcess) exit(t *testing.T, timeout time.Duration) (int, string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("the peer did not exit within %v; stderr:\n%s", timeout, p.output())
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		t.Fatal(p.err)
	}
	return p.cmd.ProcessState.ExitCode(), p.output()
}

var (
	rosterOnce sync.Once
	rosterBin  string
	rosterErr  error
)

// roster builds the real binary once for the package's tests.
func roster(t *testing.T) string {
	t.Helper()
	rosterOnce.Do(func() {
		dir, err := os.MkdirTemp("", "roster-systest-")
		if err != nil {
			rosterErr = err
			return
		}
		rosterBin = filepath.Join(dir, "roster")
		cmd := exec.Command(labtest.GoTool(), "build", "-o", rosterBin, ".")
		cmd.Dir = labtest.ModuleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			rosterErr = errors.New(string(out))
		}
	})
	if rosterErr != nil {
		t.Fatalf("go build: %v", rosterErr)
	}
	return rosterBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if rosterBin != "" {
		os.RemoveAll(filepath.Dir(rosterBin))
	}
	os.Exit(code)
}

// TestDataDirOfAnotherCluster: a peer started on a data dir of another
// cluster, beside a working cluster, exits 2 with one line naming the dir
// and both cluster ids; a peer whose raft.db is truncated exits 3 with one
// line naming the file and what to do, and doing it (a new data dir) lets
// it rejoin.
func TestDataDirOfAnotherCluster(t *testing.T) {
	bin := roster(t)
	old := oldCluster(t)
	oldDir := filepath.Join(old, "p2")
	oldID := clusterID(t, oldDir)

	c := newCluster(t, 3)
	c.start(1)
	c.waitView([]int{1}, 10*time.Second)
	c.start(3)
	c.waitView([]int{1, 3}, 10*time.Second)
	newID := clusterID(t, c.DataDir(1))
	if newID == oldID || clusterID(t, c.DataDir(3)) != newID {
		t.Fatalf("cluster ids: old %s, new %s at peer 1 and %s at peer 3", oldID, newID, clusterID(t, c.DataDir(3)))
	}

	code, stderr := startProcess(t, bin, c, 2, oldDir).exit(t, 20*time.Second)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	// The peers named are those whose announcement of the cluster id had
	// reached p2 (p3's may not have yet): the test does not pin them.
	if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], "data dir "+oldDir+" belongs to cluster "+oldID) ||
		!strings.Contains(lines[0], "the peers here are cluster "+newID+" (p") || !strings.Contains(lines[0], "move the data dir away") {
		t.Fatalf("exit %d, stderr %q; want exit 2 and one line naming %s and both ids", code, stderr, oldDir)
	}

	// A corrupt store: peer 3's raft.db, truncated as a failing disk might.
	c.Crash(3)
	c.waitView([]int{1}, 10*time.Second)
	db := filepath.Join(c.DataDir(3), "raft.db")
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(db, min(16384, fi.Size()/2)); err != nil {
		t.Fatal(err)
	}
	code, stderr = startProcess(t, bin, c, 3, c.DataDir(3)).exit(t, 20*time.Second)
	lines = strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 3 || len(lines) != 1 || !strings.Contains(lines[0], db+" is corrupt") || !strings.Contains(lines[0], "move the data dir "+c.DataDir(3)+" away") {
		t.Fatalf("exit %d, stderr %q; want exit 3 and one line naming %s and what to do", code, stderr, db)
	}

	// Doing what it says: a new data dir joins as a new member.
	p := startProcess(t, bin, c, 3, t.TempDir())
	testkit.WaitFor(t, 15*time.Second, func() bool { return c.Node(1).View().Contains(3) }, func() string {
		return "peer 3 with a new data dir was not added: " + p.output()
	})
	waitReady(t, c, 3, true, 10*time.Second)
	// It printed the view that added it before it leaves.
	v := c.Node(1).View()
	line := viewlog.FormatView(3, v.ID, v.Leader, v.Members)
	testkit.WaitFor(t, 10*time.Second, func() bool { return strings.Contains(p.output(), line) }, func() string {
		return "peer 3 did not print " + line + ":\n" + p.output()
	})
	p.cmd.Process.Signal(syscall.SIGTERM)
	code, stderr = p.exit(t, 15*time.Second)
	if code != 0 {
		t.Fatalf("peer 3 left with exit %d:\n%s", code, stderr)
	}
	c.processes.WriteString(stderr) // its new life, for the checker
	c.waitView([]int{1}, 10*time.Second)
}

// diagLogs gives each peer of c a diagnostic log at level.
func diagLogs(c *cluster, level string) map[int]*testkit.SyncBuffer {
	logs := map[int]*testkit.SyncBuffer{}
	for id := 1; id <= c.Size(); id++ {
		logs[id] = &testkit.SyncBuffer{}
	}
	c.LogLevel = level
	prev := c.Configure
	c.Configure = func(id int, cfg *config.Config) {
		cfg.DiagLog = logs[id]
		if prev != nil {
			prev(id, cfg)
		}
	}
	return logs
}

// TestPeerOfAnotherClusterRefusedAtRunTime: a peer on another cluster's
// data dir that starts before the cluster (so that nobody refuses it at its
// start) is never added: the cluster's leader refuses it and says so at
// error level, and the peer says it is the outsider and is not ready.
func TestPeerOfAnotherClusterRefusedAtRunTime(t *testing.T) {
	old := oldCluster(t)
	oldID := clusterID(t, filepath.Join(old, "p2"))
	c := newCluster(t, 3)
	logs := diagLogs(c, "error")
	if err := os.CopyFS(c.DataDir(2), os.DirFS(filepath.Join(old, "p2"))); err != nil {
		t.Fatal(err)
	}
	c.start(2)
	c.start(1)
	c.start(3)
	testkit.WaitFor(t, 15*time.Second, func() bool {
		v1, v3 := c.Node(1).View(), c.Node(3).View()
		return v1.Equal(v3) && v1.Contains(1) && v1.Contains(3)
	}, func() string { return "peers 1 and 3 did not form a cluster:\n" + c.ViewLogs() })
	newID := clusterID(t, c.DataDir(1))

	want := "cluster: this peer's data dir belongs to cluster " + oldID + "; the peers here are cluster " + newID
	var h api.Health
	testkit.WaitFor(t, 10*time.Second, func() bool {
		h, _ = apiOf(c, 2, "").Ready(context.Background())
		return !h.OK && strings.Contains(strings.Join(h.Reasons(), "; "), want)
	}, func() string { return "peer 2's readiness: " + h.String() + "; want " + want })
	testkit.WaitFor(t, 10*time.Second, func() bool {
		return strings.Contains(logs[1].String(), "refusing a peer of another cluster: peer=p2 its_cluster="+oldID)
	}, func() string { return "peer 1 logged:\n" + logs[1].String() })
	if l := logs[2].String(); !strings.Contains(l, "[ERROR]") || !strings.Contains(l, "this peer's data dir belongs to another cluster") {
		t.Fatalf("peer 2 logged:\n%s", l)
	}
	for _, in := range c.Installs() {
		if in.View.Contains(2) && in.Peer != 2 {
			t.Fatalf("peer %d installed view %+v with the foreign peer 2", in.Peer, in.View)
		}
	}
	if v := c.Node(2).View(); v.ID != 0 {
		t.Fatalf("peer 2 installed %+v", v)
	}
	c.Crash(2)
}

// TestDiskFull: a peer whose data dir fills up says so at error level and
// turns unready; when space is back it catches up and is ready again. The
// data dir is a small tmpfs: the test needs the right to mount one (root).
func TestDiskFull(t *testing.T) {
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (%v): run as root to test a full disk", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	c := newCluster(t, 4)
	logs := diagLogs(c, "error")
	prev := c.Configure
	c.Configure = func(id int, cfg *config.Config) {
		prev(id, cfg)
		if id == 3 {
			cfg.DataDir = filepath.Join(mnt, "p3")
		}
	}
	c.startAll(3)
	waitReady(t, c, 3, true, 10*time.Second)

	// Fill the disk.
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()
	c.start(4) // a view change peer 3 must store
	var h api.Health
	testkit.WaitFor(t, 15*time.Second, func() bool {
		h, _ = apiOf(c, 3, "").Ready(context.Background())
		r := strings.Join(h.Reasons(), "; ")
		return !h.OK && strings.Contains(r, "data_dir: ") && strings.Contains(r, "no space left on device")
	}, func() string { return "peer 3's readiness " + h.String() + ": want the data dir, full" })
	if l := logs[3].String(); !strings.Contains(l, "[ERROR]") || !strings.Contains(l, "storage fault") || !strings.Contains(l, "no space left on device") {
		t.Fatalf("peer 3 logged:\n%s", l)
	}
	os.Remove(filler)
	waitReady(t, c, 3, true, 20*time.Second)
	v := c.waitView(ids(1, 4), 15*time.Second)
	if v.ID != 4 {
		t.Fatalf("final view %+v, want view 4", v)
	}
}
