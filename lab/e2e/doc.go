// Package e2e holds roster's end-to-end tests under Docker. They build the
// image once (make image), run the compose test cases
// (docker-compose-testcase-N.yml) for their scripted length under a fresh
// compose project each, collect `compose logs -t`, tear everything down
// (also on failure or Ctrl-C), and judge the view logs: the expected views of
// README.md (test cases), and the checker's properties.
//
// They run only when ROSTER_E2E=1 (`make e2e`); otherwise every test here
// skips, so `go test ./...` stays fast on machines without Docker. The compose
// command is `docker compose` if it works, else `docker-compose`; set COMPOSE
// to force one; ROSTER_IMAGE names the image (default roster: the compose
// files read it too); ROSTER_E2E_NO_BUILD=1 uses the image already built;
// ROSTER_E2E_RESTART=all makes TestDockerRestart restart every peer of each
// test case in turn, not one.
// The logs of each case, and the checker's picture of it, are kept in out/e2e/.
//
// TestSwarmStack deploys deploy/swarm/docker-stack.yml on a single-node
// Docker Swarm (initialised on 127.0.0.1 for the test and left afterwards,
// unless the engine is in a swarm already): one replicated service whose
// peers find each other under tasks.peer; it kills a task (Swarm restarts it
// in its slot at a new address, under the same id) and scales the service,
// and judges `docker service logs` with the checker. It runs with
// ROSTER_E2E=1, or alone with ROSTER_SWARM_E2E=1 (`make swarm-e2e`, which also
// sets ROSTER_IMAGE to an image of its own).
//
// TestComposeReplicas runs deploy/compose/docker-compose-replicas.yml (one
// service of five replicas, no hostsfile, --join) with ROSTER_E2E=1: the
// replicas meet as ids 1-5, are scaled to 7 and to 3, one is killed, and
// the checker judges the containers' logs (about 25 s).
//
// lab/e2e/testcase.sh is the shell version of one run, used by
// `make testcase-N`.
package e2e
