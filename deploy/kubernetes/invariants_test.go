package kubernetes

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"roster/command"
	"roster/peer/api"
	"roster/peer/config"
	"roster/peer/hostsfile"
	"roster/peer/node"
)

// The objects the invariants tie together.
func parts(t *testing.T) (*manifests, *appsv1.StatefulSet, *corev1.Container) {
	t.Helper()
	m := load(t)
	sts := m.statefulSets["roster"]
	if sts == nil || len(sts.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want StatefulSet roster with one container")
	}
	return m, sts, &sts.Spec.Template.Spec.Containers[0]
}

// rosterPorts are the ports a peer listens on by default, by the names the
// manifests give them.
var rosterPorts = map[string]struct {
	port  int32
	proto corev1.Protocol
}{
	"raft":       {config.DefaultRaftPort, corev1.ProtocolTCP},
	"gossip":     {config.DefaultGossipPort, corev1.ProtocolTCP},
	"gossip-udp": {config.DefaultGossipPort, corev1.ProtocolUDP},
	"api":        {config.DefaultAPIPort, corev1.ProtocolTCP},
}

func TestContainerPorts(t *testing.T) {
	_, _, c := parts(t)
	got := map[string]bool{}
	for _, p := range c.Ports {
		want, ok := rosterPorts[p.Name]
		if !ok || p.ContainerPort != want.port || p.Protocol != want.proto {
			t.Errorf("container port %s %d/%s: roster listens on %v", p.Name, p.ContainerPort, p.Protocol, rosterPorts)
		}
		got[p.Name] = true
	}
	if len(got) != len(rosterPorts) {
		t.Errorf("container ports %v, want all of %v", got, rosterPorts)
	}
}

func TestHeadlessService(t *testing.T) {
	m, sts, c := parts(t)
	svc := m.services[sts.Spec.ServiceName]
	if svc == nil {
		t.Fatalf("no Service %q (the StatefulSet's serviceName)", sts.Spec.ServiceName)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("service %s: clusterIP %q, want None (headless)", svc.Name, svc.Spec.ClusterIP)
	}
	if !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("service %s does not publish not-ready addresses: peers could not find each other before the group has a view", svc.Name)
	}
	for _, s := range m.services {
		if !maps.Equal(s.Spec.Selector, sts.Spec.Selector.MatchLabels) {
			t.Errorf("service %s selects %v, the StatefulSet's pods are %v", s.Name, s.Spec.Selector, sts.Spec.Selector.MatchLabels)
		}
		for _, p := range s.Spec.Ports {
			target := p.TargetPort.String()
			found := false
			for _, cp := range c.Ports {
				if cp.Name == target {
					found = cp.ContainerPort == p.Port && cp.Protocol == p.Protocol
				}
			}
			if !found {
				t.Errorf("service %s port %s %d/%s: no container port %q of that number and protocol", s.Name, p.Name, p.Port, p.Protocol, target)
			}
		}
	}
	if len(svc.Spec.Ports) != len(rosterPorts) {
		t.Errorf("headless service has %d ports, want the peer's %d", len(svc.Spec.Ports), len(rosterPorts))
	}
	api := m.services["roster-api"]
	if api == nil || api.Spec.ClusterIP == corev1.ClusterIPNone || api.Spec.PublishNotReadyAddresses {
		t.Errorf("want Service roster-api with a cluster IP, of ready pods only")
	}
}

func TestStatefulSet(t *testing.T) {
	m, sts, c := parts(t)
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy %q, want Parallel", sts.Spec.PodManagementPolicy)
	}
	if !maps.Equal(sts.Spec.Template.Labels, sts.Spec.Selector.MatchLabels) {
		t.Errorf("pod labels %v, selector %v", sts.Spec.Template.Labels, sts.Spec.Selector.MatchLabels)
	}
	// The pod name is the peer's name.
	named := false
	for _, e := range c.Env {
		if e.Name == "ROSTER_NAME" {
			named = e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name"
		}
	}
	if !named {
		t.Error("ROSTER_NAME does not come from the pod name (metadata.name)")
	}
	// Every variable is one a roster flag reads; the key comes from a Secret.
	envs := map[string]bool{}
	for _, f := range command.New(io.Discard, io.Discard).Flags {
		if ev, ok := f.(interface{ GetEnvVars() []string }); ok {
			for _, e := range ev.GetEnvVars() {
				envs[e] = true
			}
		}
	}
	for _, e := range c.Env {
		if !envs[e.Name] {
			t.Errorf("env %s: no roster flag reads it", e.Name)
		}
		if e.Name == "ROSTER_ENCRYPT" && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Error("ROSTER_ENCRYPT not from a Secret")
		}
	}
	// Resources: requests for scheduling, a memory limit, no CPU limit.
	r := c.Resources
	if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want CPU and memory requests and a memory limit", r)
	}
	if !r.Limits.Cpu().IsZero() {
		t.Error("a CPU limit throttles failure detection's 1.1 s probes")
	}
	// The data directory is a volume claimed per pod.
	args := flagArgs(t, c.Args)
	dataDir := args["data-dir"]
	if dataDir == "" {
		t.Fatal("no --data-dir: Raft's state would not outlive the container")
	}
	claim := mountedAt(c, dataDir)
	found := false
	for _, vct := range sts.Spec.VolumeClaimTemplates {
		found = found || vct.Name == claim
	}
	if !found {
		t.Errorf("--data-dir %s is not on a volumeClaimTemplate (mounted volume %q)", dataDir, claim)
	}
	// No hostsfile: the peers find each other (TestDiscoveryWiring).
	if h, ok := args["hostsfile"]; ok {
		t.Errorf("-h %s: the peers find each other through the headless service, with no hostsfile", h)
	}
	if len(sts.Spec.Template.Spec.Volumes) != 0 || len(m.configMaps) != 0 {
		t.Errorf("volumes %v, ConfigMaps %v: want the data volume only", sts.Spec.Template.Spec.Volumes, m.configMaps)
	}
	// The pod runs as the image's user, so the volume (fsGroup) is writable.
	df, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	sc := sts.Spec.Template.Spec.SecurityContext
	user := regexp.MustCompile(`(?m)^USER (\d+):(\d+)`).FindStringSubmatch(string(df))
	if user == nil || sc == nil || sc.RunAsUser == nil || sc.FSGroup == nil ||
		strconv.FormatInt(*sc.RunAsUser, 10) != user[1] || strconv.FormatInt(*sc.FSGroup, 10) != user[2] {
		t.Errorf("pod security context %+v, the image runs as %v", sc, user)
	}
	// Voluntary disruptions take one pod at a time.
	pdb := m.pdbs["roster"]
	if pdb == nil || pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || !maps.Equal(pdb.Spec.Selector.MatchLabels, sts.Spec.Selector.MatchLabels) {
		t.Errorf("want a PodDisruptionBudget roster with maxUnavailable 1 over the StatefulSet's pods")
	}
}

// flagArgs reads the container's args as roster's flags: each must be a
// flag of the roster command (by name or alias), and each takes a value.
func flagArgs(t *testing.T, args []string) map[string]string {
	t.Helper()
	names := map[string]string{} // name or alias -> name
	for _, f := range command.New(io.Discard, io.Discard).Flags {
		for _, n := range f.Names() {
			names[n] = f.Names()[0]
		}
	}
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			t.Fatalf("arg %q: want flags only", a)
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		full, ok := names[name]
		if !ok {
			t.Fatalf("arg %q: roster has no flag %q", a, name)
		}
		if !hasValue {
			if i+1 >= len(args) {
				t.Fatalf("flag %q without a value", a)
			}
			i++
			value = args[i]
		}
		out[full] = value
	}
	return out
}

// mountedAt returns the name of the volume the container mounts at path.
func mountedAt(c *corev1.Container, path string) string {
	for _, vm := range c.VolumeMounts {
		if filepath.Clean(vm.MountPath) == filepath.Clean(path) {
			return vm.Name
		}
	}
	return ""
}

// TestDiscoveryWiring checks that the pods find each other without a
// hostsfile: --join names the headless service (whose DNS name lists every
// pod, ready or not), --bootstrap-expect is the replicas, so that the pods
// started together found one cluster, and the startup probe leaves time
// for that before liveness counts.
func TestDiscoveryWiring(t *testing.T) {
	m, sts, c := parts(t)
	args := flagArgs(t, c.Args)
	svc := m.services[sts.Spec.ServiceName]
	if svc == nil {
		t.Fatalf("no Service %q (the StatefulSet's serviceName)", sts.Spec.ServiceName)
	}
	// The service's DNS name, short (the pod's resolver adds the namespace)
	// or qualified: SERVICE[.NAMESPACE[.svc[.CLUSTER-DOMAIN]]].
	join := args["join"]
	labels := strings.Split(join, ".")
	if labels[0] != svc.Name || (len(labels) > 2 && labels[2] != "svc") {
		t.Errorf("--join %q: want the headless service's DNS name %s (or %s.NAMESPACE.svc.cluster.local)", join, svc.Name, svc.Name)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("--join %s: the service must be headless and publish not-ready pods", join)
	}
	if sts.Spec.Replicas == nil {
		t.Fatal("no replicas: --bootstrap-expect must equal them")
	}
	if args["bootstrap-expect"] != strconv.Itoa(int(*sts.Spec.Replicas)) {
		t.Errorf("--bootstrap-expect %q, replicas %d: want them equal", args["bootstrap-expect"], *sts.Spec.Replicas)
	}
	// The peer serves its API only once it has its id, which waits for the
	// others: the startup probe must cover that wait, liveness come after.
	sp, lp := c.StartupProbe, c.LivenessProbe
	if sp == nil || sp.HTTPGet == nil || lp == nil || lp.HTTPGet == nil || sp.HTTPGet.Path != lp.HTTPGet.Path {
		t.Fatalf("want a startup probe on the liveness probe's path")
	}
	if wait := time.Duration(sp.PeriodSeconds*sp.FailureThreshold) * time.Second; wait < 5*time.Minute {
		t.Errorf("the startup probe gives up after %s: want at least 5 minutes for the pods to be scheduled and meet", wait)
	}
	if lp.InitialDelaySeconds != 0 {
		t.Errorf("liveness waits %d s more after the startup probe", lp.InitialDelaySeconds)
	}
	// The pod name is the peer's name, and it must be one.
	for i := int32(0); i < *sts.Spec.Replicas; i++ {
		if err := hostsfile.CheckName(fmt.Sprintf("%s-%d", sts.Name, i)); err != nil {
			t.Error(err)
		}
	}
}

// TestProbesAndScrapePathServed starts a real peer as the StatefulSet
// starts roster-0 (no hostsfile, --join, its data dir) and checks that the
// paths the probes and the scrape annotation name answer 200 on the port
// they name: /ready once it founded its cluster. It then restarts it as a
// pod restarts: same name, same data dir, a new IP; it comes back under the
// id its data dir keeps and is ready again.
func TestProbesAndScrapePathServed(t *testing.T) {
	_, sts, c := parts(t)
	paths := map[string]string{} // path -> port name
	for what, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Fatalf("no HTTP %s probe", what)
		}
		paths[p.HTTPGet.Path] = p.HTTPGet.Port.String()
	}
	ann := sts.Spec.Template.Annotations
	if ann["prometheus.io/port"] != strconv.Itoa(config.DefaultAPIPort) {
		t.Errorf("prometheus.io/port %q, the API is on %d", ann["prometheus.io/port"], config.DefaultAPIPort)
	}
	paths[ann["prometheus.io/path"]] = "api"
	for path, port := range paths {
		if port != "api" {
			t.Errorf("%s on port %q, want the api port", path, port)
		}
	}
	if c.ReadinessProbe.HTTPGet.Path != "/ready" {
		t.Errorf("readiness on %s: the peer's readiness is /ready (peer/api)", c.ReadinessProbe.HTTPGet.Path)
	}

	// The manifest's flags, but --join at the peer's own address and
	// --bootstrap-expect 1: one peer founds a cluster of its own.
	args := flagArgs(t, c.Args)
	dataDir := t.TempDir()
	pod := sts.Name + "-0"
	start := func(ip string) *node.Node {
		t.Helper()
		cfg := config.Config{
			Name: pod, Join: []string{ip}, BootstrapExpect: 1, Bind: ip,
			RaftPort: config.DefaultRaftPort, GossipPort: config.DefaultGossipPort, APIPort: config.DefaultAPIPort,
			DataDir: dataDir, Voters: config.DefaultVoters, LogLevel: "off",
			ViewLog: io.Discard, DiagLog: io.Discard,
		}
		if args["data-dir"] == "" || args["join"] == "" || args["bootstrap-expect"] == "" {
			t.Fatalf("args %v: want --data-dir, --join and --bootstrap-expect", c.Args)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		n, err := node.Start(cfg, node.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	serves := func(ip string) {
		t.Helper()
		client := api.Client{Addr: net.JoinHostPort(ip, strconv.Itoa(config.DefaultAPIPort))}
		for path := range paths {
			deadline := time.Now().Add(20 * time.Second)
			for {
				_, code, err := client.Get(context.Background(), path)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("GET %s: %d %v", path, code, err)
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	loopback := func() string {
		return fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(250), 1+rand.IntN(250), 1+rand.IntN(250))
	}
	ip := loopback()
	n := start(ip)
	serves(ip)
	id := n.Status().ID
	n.Close()
	kept, err := os.ReadFile(filepath.Join(dataDir, "peer-id"))
	if err != nil || strings.TrimSpace(string(kept)) != fmt.Sprintf("%s %d", pod, id) {
		t.Fatalf("the data dir keeps %q (%v), want %q", kept, err, fmt.Sprintf("%s %d", pod, id))
	}

	// The pod restarts with a new IP, its name and its volume.
	moved := loopback()
	for moved == ip {
		moved = loopback()
	}
	n = start(moved)
	defer n.Close()
	serves(moved)
	if got := n.Status().ID; got != id {
		t.Errorf("restarted at a new IP as peer %d, want its id %d", got, id)
	}
}
