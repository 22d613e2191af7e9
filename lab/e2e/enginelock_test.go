package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// engineLockPath is the machine-wide lock that keeps Swarm tests and
// compose runs of every roster end-to-end process on this machine apart.
var engineLockPath = filepath.Join(os.TempDir(), "roster-e2e-engine.lock")

// engineLockWait bounds the wait for the engine lock.
const engineLockWait = 15 * time.Minute

// lockEngine takes the machine-wide engine lock until the test ends:
// shared for a compose project (any number run at once), exclusive for a
// Swarm test. Joining or leaving a swarm and removing a stack rewrite the
// engine's networking (docker_gwbridge, the ingress network, iptables): the
// peers of a compose project running beside them, even another process's,
// lost each other for seconds (test case 10, TestDockerMoveSwapIPs and test
// case 11 failed so). Register it before the test's own cleanups, so that
// the lock goes last, after the teardown. It polls (every 500 ms) rather
// than blocks, to give up after engineLockWait.
func lockEngine(t *testing.T, exclusive bool) {
	t.Helper()
	f, err := os.OpenFile(engineLockPath, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		t.Fatalf("engine lock %s: %v", engineLockPath, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	start := time.Now()
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			t.Fatalf("engine lock %s: %v", engineLockPath, err)
		}
		if !logged {
			t.Logf("waiting for the engine lock %s (exclusive %v): a Swarm test or compose runs of another process hold it", engineLockPath, exclusive)
			logged = true
		}
		if time.Since(start) > engineLockWait {
			f.Close()
			t.Fatalf("engine lock %s (exclusive %v) not free within %s", engineLockPath, exclusive, engineLockWait)
		}
		select {
		case <-baseCtx.Done():
			f.Close()
			t.Fatal("interrupted while waiting for the engine lock")
		case <-time.After(500 * time.Millisecond):
		}
	}
	if logged {
		t.Logf("engine lock taken after %s", time.Since(start).Round(time.Second))
	}
	t.Cleanup(func() { f.Close() }) // closing the file releases the lock
}

// Compose runs share the engine lock; a Swarm test waits for all of them,
// and they for it.
func TestEngineLock(t *testing.T) {
	saved := engineLockPath
	engineLockPath = filepath.Join(t.TempDir(), "engine.lock")
	t.Cleanup(func() { engineLockPath = saved })
	free := func(how int) bool {
		f, err := os.OpenFile(engineLockPath, os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB) == nil
	}
	t.Run("shared", func(t *testing.T) {
		t.Run("held", func(t *testing.T) {
			lockEngine(t, false)
			if !free(syscall.LOCK_SH) {
				t.Error("a second compose run cannot share the lock")
			}
			if free(syscall.LOCK_EX) {
				t.Error("a Swarm test took the lock beside a compose run")
			}
		})
		if !free(syscall.LOCK_EX) {
			t.Error("the lock is still held after the test")
		}
	})
	t.Run("exclusive", func(t *testing.T) {
		t.Run("held", func(t *testing.T) {
			lockEngine(t, true)
			if free(syscall.LOCK_SH) {
				t.Error("a compose run took the lock beside a Swarm test")
			}
		})
		if !free(syscall.LOCK_SH) {
			t.Error("the lock is still held after the test")
		}
	})
}
