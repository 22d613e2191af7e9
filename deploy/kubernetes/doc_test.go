// Package kubernetes holds roster's Kubernetes manifests and the test that
// checks them without a cluster: every document decodes strictly into its
// k8s.io/api type, and the invariants that tie them to roster hold (names,
// ports and flags the peer knows, probe paths a real peer serves, a
// headless service that publishes not-ready pods and that --join names,
// --bootstrap-expect equal to the replicas, the data dir on the pod's
// volume, which keeps the peer's id across a restart at a new IP). It is a module of its own so that k8s.io stays out of roster's
// go.mod; run it with `make k8s-check` or `cd deploy/kubernetes && go test`.
package kubernetes
