package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Set by TestMain when ROSTER_E2E=1 or ROSTER_SWARM_E2E=1.
var (
	enabled    bool       // the Docker set-up ran
	composeOn  bool       // ROSTER_E2E=1: the compose test cases run
	swarmOn    bool       // ROSTER_E2E=1 or ROSTER_SWARM_E2E=1: the Swarm test runs
	imageName  = "roster" // the image make image builds ($ROSTER_IMAGE)
	setupErr   error      // why the end-to-end tests cannot run
	repoRoot   string     // the directory holding go.mod
	composeCmd []string   // "docker compose" or "docker-compose"
	baseCtx    = context.Background()
	active     = &activeRuns{runs: map[downer]bool{}}
)

// downer is something up on the engine that an interrupt must tear down: a
// compose project or a Swarm stack.
type downer interface{ down() error }

// activeRuns is the set of compose projects and stacks that are up and not
// yet torn down, so that an interrupt can tear them down. Safe for
// concurrent use.
type activeRuns struct {
	mu   sync.Mutex
	runs map[downer]bool
}

func (a *activeRuns) add(c downer)    { a.mu.Lock(); a.runs[c] = true; a.mu.Unlock() }
func (a *activeRuns) remove(c downer) { a.mu.Lock(); delete(a.runs, c); a.mu.Unlock() }

// downAll tears down every active project.
func (a *activeRuns) downAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for c := range a.runs {
		if err := c.down(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		}
		delete(a.runs, c)
	}
}

func TestMain(m *testing.M) {
	composeOn = os.Getenv("ROSTER_E2E") == "1"
	swarmOn = composeOn || os.Getenv("ROSTER_SWARM_E2E") == "1"
	if !swarmOn {
		os.Exit(m.Run()) // the Docker tests skip themselves; the unit tests run
	}
	enabled = true
	if img := os.Getenv("ROSTER_IMAGE"); img != "" {
		imageName = img
	}
	ctx, cancel := context.WithCancel(context.Background())
	baseCtx = ctx

	// On Ctrl-C or SIGTERM: stop the compose commands under way, tear down
	// every project that is up, and exit.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "e2e: %v: tearing down\n", s)
		cancel()
		active.downAll()
		os.Exit(130)
	}()

	setupErr = setup(ctx)
	code := m.Run()
	active.downAll()
	cancel()
	os.Exit(code)
}

// setup finds the repository, checks Docker, removes what dead runs left
// behind, and builds the image with `make image IMAGE=$ROSTER_IMAGE` (unless
// ROSTER_E2E_NO_BUILD=1: then the existing image is used).
func setup(ctx context.Context) error {
	var err error
	if repoRoot, err = findRepoRoot(); err != nil {
		return err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := docker(pingCtx, "version", "--format", "{{.Server.Version}}"); err != nil {
		return fmt.Errorf("no Docker daemon answers: %v", err)
	}
	if composeOn {
		if composeCmd, err = detectCompose(); err != nil {
			return err
		}
	}
	if reaped, err := reapDeadRuns(ctx); err != nil {
		return fmt.Errorf("removing what dead runs left behind: %v", err)
	} else if len(reaped) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: removed the leftovers of dead runs: %v\n", reaped)
	}
	if os.Getenv("ROSTER_E2E_NO_BUILD") == "1" {
		if _, err := docker(ctx, "image", "inspect", imageName); err != nil {
			return fmt.Errorf("ROSTER_E2E_NO_BUILD=1 but there is no %s image: %v", imageName, err)
		}
		fmt.Fprintf(os.Stderr, "e2e: using the existing %s image (ROSTER_E2E_NO_BUILD=1)\n", imageName)
		return nil
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, "make", "-C", repoRoot, "image", "IMAGE="+imageName)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make image: %v\n%s", err, out)
	}
	fmt.Fprintf(os.Stderr, "e2e: make image took %s; compose is %q\n", time.Since(start).Round(100*time.Millisecond), composeCmd)
	return nil
}

// findRepoRoot walks up from the working directory to the one holding go.mod.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// requireDocker skips the test unless ROSTER_E2E=1, and fails it if the
// set-up did not work.
func requireDocker(t *testing.T) {
	t.Helper()
	if !composeOn {
		t.Skip("Docker end-to-end test: set ROSTER_E2E=1 (make e2e) to run it")
	}
	if setupErr != nil {
		t.Fatalf("end-to-end set-up: %v", setupErr)
	}
}

// requireSwarm skips the test unless ROSTER_E2E=1 or ROSTER_SWARM_E2E=1,
// and fails it if the set-up did not work.
func requireSwarm(t *testing.T) {
	t.Helper()
	if !swarmOn {
		t.Skip("Docker Swarm end-to-end test: set ROSTER_SWARM_E2E=1 (make swarm-e2e) or ROSTER_E2E=1 to run it")
	}
	if setupErr != nil {
		t.Fatalf("end-to-end set-up: %v", setupErr)
	}
}
