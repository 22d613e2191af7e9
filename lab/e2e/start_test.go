package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"roster/lab/runner"
)

// startStages groups a scenario's services by their start delay (-d or
// --delay, 0 without one), the stages in increasing delay and each in the
// file's order: the order in which the scenario means them to begin. A
// service's delay counts from its own container's start, so starting the
// stages in this order keeps the scripted order of the joins whatever the
// engine's pace (composeRun.startInStages).
func startStages(services []runner.Service) ([][]string, error) {
	var delays []float64
	byDelay := map[float64][]string{}
	for _, svc := range services {
		d, err := startDelay(svc.Args)
		if err != nil {
			return nil, fmt.Errorf("service %s: %v", svc.Name, err)
		}
		if _, seen := byDelay[d]; !seen {
			delays = append(delays, d)
		}
		byDelay[d] = append(byDelay[d], svc.Name)
	}
	slices.Sort(delays)
	var stages [][]string
	for _, d := range delays {
		stages = append(stages, byDelay[d])
	}
	return stages, nil
}

// startDelay returns the seconds of a -d or --delay flag in args (as
// "-d 2", "-d=2", "--delay 2" or "--delay=2"), 0 without one.
func startDelay(args []string) (float64, error) {
	for i, a := range args {
		name, value, inline := strings.Cut(a, "=")
		if name != "-d" && name != "--delay" {
			continue
		}
		if !inline {
			if i+1 >= len(args) {
				return 0, fmt.Errorf("%s without a value", name)
			}
			value = args[i+1]
		}
		d, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q: not a number of seconds", name, value)
		}
		return d, nil
	}
	return 0, nil
}

func TestStartStages(t *testing.T) {
	svc := func(name string, args ...string) runner.Service { return runner.Service{Name: name, Args: args} }
	got, err := startStages([]runner.Service{
		svc("one", "-h", "hostsfile.txt"),
		svc("three", "-h", "hostsfile.txt", "--delay=4"),
		svc("two", "-h", "hostsfile.txt", "-d", "2", "-c", "4"),
		svc("nemesis", "nemesis", "--at", "15s", "heal"),
		svc("c1", "client", "-d", "0.5"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"one", "nemesis"}, {"c1"}, {"two"}, {"three"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stages %v, want %v", got, want)
	}
	for _, bad := range [][]string{{"-d"}, {"-d", "soon"}, {"--delay=x"}} {
		if _, err := startStages([]runner.Service{svc("one", bad...)}); err == nil {
			t.Errorf("args %q: no error", bad)
		}
	}
}

// TestStartStagesOfTestCases pins the stages of the compose test cases:
// test cases 1-8 start their peers one by one, 2 s apart as scripted (the
// nemesis with the first); 9-11 start the peers together, then the clients.
func TestStartStagesOfTestCases(t *testing.T) {
	root, err := findRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	peers := [][]string{{"one"}, {"two"}, {"three"}, {"four"}, {"five"}}
	withNemesis := [][]string{{"one", "nemesis"}, {"two"}, {"three"}, {"four"}, {"five"}}
	five := []string{"one", "two", "three", "four", "five"}
	want := map[int][][]string{
		1: peers, 2: peers, 3: peers, 4: peers, 5: withNemesis, 6: peers, 7: peers, 8: withNemesis,
		9:  {five, {"c1", "c2", "c3", "c4", "c5"}},
		10: {five, {"c1", "c2", "c3", "c4", "c5", "c6"}},
		11: {append(five[:5:5], "nemesis"), {"c1", "c2", "c3", "c4"}},
	}
	for n, w := range want {
		sc, err := runner.Load(context.Background(), filepath.Join(root, fmt.Sprintf("docker-compose-testcase-%d.yml", n)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := startStages(sc.Services)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("test case %d: stages %v, want %v", n, got, w)
		}
	}
}
