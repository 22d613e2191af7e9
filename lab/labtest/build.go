// Package labtest holds helpers for the lab's tests that run real roster
// processes. It is imported by tests only.
package labtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// GoTool returns the go command of the toolchain running the tests.
func GoTool() string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}

// ModuleRoot returns the module's root directory, found from the working
// directory of the test (a package directory inside the module).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// BuildRoster builds the real roster binary from the module root into a
// temporary directory of t, and returns the root and the binary's path.
func BuildRoster(t testing.TB) (root, bin string) {
	t.Helper()
	root = ModuleRoot(t)
	bin = filepath.Join(t.TempDir(), "roster")
	build := exec.Command(GoTool(), "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the module root: %v\n%s", err, out)
	}
	return root, bin
}
