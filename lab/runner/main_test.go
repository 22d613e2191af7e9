package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if file := os.Getenv("LAB_TEST_UP_FILE"); file != "" {
		// Re-executed by TestUpSIGINT: behave like `roster lab up`.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		v, err := Up(ctx, UpConfig{File: file, Roster: os.Getenv("LAB_TEST_UP_ROSTER"), StopTimeout: 2 * time.Second}, os.Stdout, os.Stderr)
		stop()
		os.Exit(upStatus(os.Stderr, v, err))
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildDir  string
	fakeBin   string
	buildErr  error
)

// upStatus is the exit status `roster lab up` gives for Up's result, and
// writes its error line to stderr as the command does.
func upStatus(stderr io.Writer, v *Verdict, err error) int {
	var ie *InputError
	switch {
	case errors.As(err, &ie):
		fmt.Fprintln(stderr, "roster lab up: "+err.Error())
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "roster lab up: "+err.Error())
		return 1
	}
	return v.Status()
}

// up runs Up as `roster lab up` would and returns its exit status.
func up(ctx context.Context, cfg UpConfig, stdout, stderr io.Writer) int {
	v, err := Up(ctx, cfg, stdout, stderr)
	return upStatus(stderr, v, err)
}

// goTool returns the go command of the toolchain running the tests.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// fakePeer builds testdata/fakepeer once and returns its path.
func fakePeer(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "lab-test-bin-")
		if buildErr != nil {
			return
		}
		fakeBin = filepath.Join(buildDir, "fakepeer")
		out, err := exec.Command(goTool(), "build", "-o", fakeBin, "./testdata/fakepeer").CombinedOutput()
		if err != nil {
			buildErr = &buildError{string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("building the fake peer: %v", buildErr)
	}
	return fakeBin
}

type buildError struct{ out string }

func (e *buildError) Error() string { return e.out }

// writeFiles writes name -> content into a new temporary directory and
// returns the directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// assertAllGone fails the test if any process the run started still exists.
func assertAllGone(t *testing.T, res *Result, extra ...int) {
	t.Helper()
	pids := append([]int(nil), extra...)
	for _, s := range res.Services {
		pids = append(pids, s.Pids...)
	}
	if len(pids) == 0 {
		t.Fatal("the run started no process")
	}
	// Grandchildren are reparented to init (or a subreaper) when killed;
	// give it a moment to reap them.
	deadline := time.Now().Add(3 * time.Second)
	for _, pid := range pids {
		for alive(pid) && !isZombie(pid) {
			if time.Now().After(deadline) {
				t.Errorf("process %d is still alive after the run", pid)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// isZombie reports whether pid is a dead process not yet reaped by its
// parent (a grandchild reparented to a slow reaper).
func isZombie(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}
