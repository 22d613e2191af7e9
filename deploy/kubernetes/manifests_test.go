package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// manifests is every object of the *.yaml files here, by name.
type manifests struct {
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	statefulSets map[string]*appsv1.StatefulSet
	pdbs         map[string]*policyv1.PodDisruptionBudget
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// loadManifests decodes every document of the *.yaml files in dir strictly
// (an unknown or duplicate field is an error) into its type.
func loadManifests(dir string) (*manifests, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	m := &manifests{
		services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{},
		statefulSets: map[string]*appsv1.StatefulSet{}, pdbs: map[string]*policyv1.PodDisruptionBudget{},
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for i, doc := range docSep.Split(string(raw), -1) {
			if err := m.add(doc); err != nil {
				return nil, fmt.Errorf("%s, document %d: %w", filepath.Base(f), i+1, err)
			}
		}
	}
	return m, nil
}

// add decodes one document; one of comments and blanks only is skipped.
func (m *manifests) add(doc string) error {
	if strings.TrimSpace(stripComments(doc)) == "" {
		return nil
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
		return err
	}
	var obj interface{ GetName() string }
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Service":
		obj = &corev1.Service{}
	case "v1 ConfigMap":
		obj = &corev1.ConfigMap{}
	case "apps/v1 StatefulSet":
		obj = &appsv1.StatefulSet{}
	case "policy/v1 PodDisruptionBudget":
		obj = &policyv1.PodDisruptionBudget{}
	default:
		return fmt.Errorf("unexpected %s %s", tm.APIVersion, tm.Kind)
	}
	if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		return err
	}
	name := obj.GetName()
	if name == "" {
		return fmt.Errorf("%s without a name", tm.Kind)
	}
	switch o := obj.(type) {
	case *corev1.Service:
		m.services[name] = o
	case *corev1.ConfigMap:
		m.configMaps[name] = o
	case *appsv1.StatefulSet:
		m.statefulSets[name] = o
	case *policyv1.PodDisruptionBudget:
		m.pdbs[name] = o
	}
	return nil
}

func stripComments(doc string) string {
	var b bytes.Buffer
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func load(t *testing.T) *manifests {
	t.Helper()
	m, err := loadManifests(".")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestStrictDecoding checks that the decoding used here is strict: a
// misspelt field or a duplicate key fails, and an unknown kind too.
func TestStrictDecoding(t *testing.T) {
	bad := map[string]string{
		"misspelt field": "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: x\nspec:\n  podManagmentPolicy: Parallel\n",
		"duplicate key":  "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  clusterIP: None\n  clusterIP: None\n",
		"unknown kind":   "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n",
		"wrong type":     "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  publishNotReadyAddresses: maybe\n",
		"no name":        "apiVersion: v1\nkind: ConfigMap\ndata: {}\n",
	}
	for name, doc := range bad {
		m := &manifests{services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{},
			statefulSets: map[string]*appsv1.StatefulSet{}, pdbs: map[string]*policyv1.PodDisruptionBudget{}}
		if err := m.add(doc); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
}

// TestManifestSet checks that the directory holds the expected objects.
func TestManifestSet(t *testing.T) {
	m := load(t)
	got := []string{}
	for n := range m.services {
		got = append(got, "Service/"+n)
	}
	for n := range m.configMaps {
		got = append(got, "ConfigMap/"+n)
	}
	for n := range m.statefulSets {
		got = append(got, "StatefulSet/"+n)
	}
	for n := range m.pdbs {
		got = append(got, "PodDisruptionBudget/"+n)
	}
	sort.Strings(got)
	want := "PodDisruptionBudget/roster Service/roster Service/roster-api StatefulSet/roster"
	if strings.Join(got, " ") != want {
		t.Errorf("objects %v, want %s", got, want)
	}
}
