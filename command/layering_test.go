package command

import (
	"os/exec"
	"strings"
	"testing"

	"roster/lab/labtest"
)

// TestPeerKnowsNoLab fails when a package of the service (peer/...) depends
// on the lab or the command line: the peer is a library with seams, and the
// lab plugs into them from outside.
func TestPeerKnowsNoLab(t *testing.T) {
	cmd := exec.Command(labtest.GoTool(), "list", "-deps", "-f", "{{.ImportPath}}", "./peer/...")
	cmd.Dir = labtest.ModuleRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "roster/lab") || strings.HasPrefix(dep, "roster/command") {
			t.Errorf("a peer package depends on %s", dep)
		}
	}
}
