package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/internal/testkit"
)

// watchOthersNetworkEvents follows the engine's network events from now to
// the end of the test and, if the test failed, logs those that are not of
// this process's projects (newProjectName: roster-e2e-PID-...): another
// user's swarm leaving, or a stack's or project's network going, rewrites
// the engine's networking, and the peers of a project running beside it
// have lost each other for seconds then. It names a likely outside cause
// of a failure; it judges nothing. (The engine keeps only its latest
// events, so they are followed, not asked for afterwards.)
func watchOthersNetworkEvents(t *testing.T) {
	t.Helper()
	ours := fmt.Sprintf("roster-e2e-%d-", os.Getpid())
	ctx, cancel := context.WithCancel(baseCtx)
	var out testkit.SyncBuffer
	cmd := exec.CommandContext(ctx, "docker", "events", "--filter", "type=network",
		"--format", `{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}`)
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Logf("following the engine's network events: %v", err)
		return
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if !t.Failed() {
			return
		}
		var lines []string
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			f := strings.Fields(line)
			if len(f) < 3 || strings.HasPrefix(f[2], ours) {
				continue
			}
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				f[0] = time.Unix(0, ns).UTC().Format("15:04:05.000")
			}
			lines = append(lines, strings.Join(f, " "))
		}
		if len(lines) == 0 {
			t.Log("no network events of others on the engine during the test")
			return
		}
		t.Logf("network events of others on the engine during the test (a swarm leaving or a network going may cut a project's peers off for seconds):\n%s", strings.Join(lines, "\n"))
	})
}
