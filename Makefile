# roster: build the binary, the offline Docker image, run the compose test
# cases under Docker, and the end-to-end tests.
#
#   make build        bin/roster
#   make peer         bin/roster-peer: the image's binary (the peer and its tools, static)
#   make bench        roster lab bench with the image's binary as the peers
#                     (BENCH_ARGS, default: 20 runs, idle 25 and 100 peers, --json)
#   make image        static binary (-tags nolab: the peer, check, health, view and
#                     nemesis; not the local runner; urfave_cli_no_docs: no man page
#                     generator) + `docker build -t roster .`
#   make testcase-N   run docker-compose-testcase-N.yml (N = 1..4, 9..11) for its scripted
#                     length, save the logs to out/testcase-N.log, tear down, check
#   make e2e          the Docker end-to-end tests (test cases 1-11, judged by the checker),
#                     E2E_PARALLEL compose projects at a time (default 4)
#   make swarm-e2e    deploy/swarm/docker-stack.yml on a single-node Docker Swarm
#                     (made for the test and left after it, unless the engine is
#                     in a swarm already): meet, kill, scale, judged by the checker
#   make k8s-check    decode deploy/kubernetes/*.yaml strictly into the k8s.io/api
#                     types and check them against the peer (no cluster needed)
#   make clean        remove bin/ and out/

GO ?= go
# Prefer the compose plugin (`docker compose`); else Debian's docker-compose v1.
COMPOSE ?= $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; else echo docker-compose; fi)
# The image's binary is built for the Docker daemon's architecture.
IMAGE_ARCH ?= $(shell docker version --format '{{.Server.Arch}}' 2>/dev/null | grep . || $(GO) env GOARCH)
# Everything `docker build` sees (besides hostsfile.txt) lives here; see .dockerignore.
IMAGE_DIR := bin/image
# The image's tag: set IMAGE=roster-NAME for an image no other build retags.
IMAGE ?= roster

.PHONY: build peer bench image testcase-1 testcase-2 testcase-3 testcase-4 testcase-9 testcase-10 testcase-11 e2e swarm-e2e k8s-check clean

build:
	$(GO) build -o bin/roster .

# The peer as the image runs it: without the lab (whose compose loader costs
# about 10 ms of package initialisation at every start) and static.
PEER_TAGS := nolab,urfave_cli_no_docs
peer:
	CGO_ENABLED=0 $(GO) build -tags $(PEER_TAGS) -trimpath -ldflags "-s -w" -o bin/roster-peer .

BENCH_ARGS ?= --runs 20 --idle-sizes 25,100 --json
bench: build peer
	bin/roster lab bench --roster bin/roster-peer $(BENCH_ARGS)

# The compose and stack files use ${ROSTER_IMAGE:-roster}.
# The image an earlier build tagged is left untagged by the new one: prune it.
image:
	rm -rf $(IMAGE_DIR)
	mkdir -p $(IMAGE_DIR)/rootfs/tmp
	chmod 1777 $(IMAGE_DIR)/rootfs/tmp
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -tags $(PEER_TAGS) -trimpath -ldflags "-s -w" -o $(IMAGE_DIR)/roster .
	docker build -t $(IMAGE) .
	docker image prune -f --filter label=org.opencontainers.image.title=roster >/dev/null

testcase-1 testcase-2 testcase-3 testcase-4 testcase-9 testcase-10 testcase-11: testcase-%: image build
	COMPOSE="$(COMPOSE)" ROSTER=bin/roster OUT=out sh lab/e2e/testcase.sh $*

# The compose runs go E2E_PARALLEL at a time, each a project of its own.
E2E_PARALLEL ?= 4
e2e:
	ROSTER_E2E=1 COMPOSE="$(COMPOSE)" $(GO) test ./lab/e2e/ -v -count=1 -parallel $(E2E_PARALLEL) -timeout 20m

# The stack runs an image of its own: another build's retag of roster cannot
# change it under the test.
SWARM_IMAGE ?= roster-swarm-e2e
swarm-e2e:
	ROSTER_SWARM_E2E=1 ROSTER_IMAGE=$(SWARM_IMAGE) $(GO) test ./lab/e2e/ -run 'Swarm|Stack' -v -count=1 -timeout 15m

# deploy/kubernetes is a module of its own: k8s.io stays out of roster's go.mod.
k8s-check:
	# -mod=mod: a dependency roster adds later reaches this module's go.sum by itself.
	cd deploy/kubernetes && GOFLAGS=-mod=mod $(GO) vet ./... && GOFLAGS=-mod=mod $(GO) test -race -count=1 ./...

clean:
	rm -rf bin out
