package runner

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/internal/testkit"
)

// runFake runs a compose file (and extra files) with the fake peer.
func runFake(t *testing.T, compose string, files map[string]string, opts Options) (*Result, *testkit.SyncBuffer, *testkit.SyncBuffer) {
	t.Helper()
	return runFakeUntil(t, compose, files, opts, nil)
}

// runFakeUntil is runFake, but when until is set the run also ends as soon
// as until(output, diagnostics) holds (checked every 20 ms), or after a
// minute.
func runFakeUntil(t *testing.T, compose string, files map[string]string, opts Options, until func(out, diag string) bool) (*Result, *testkit.SyncBuffer, *testkit.SyncBuffer) {
	t.Helper()
	if files == nil {
		files = map[string]string{}
	}
	files["compose.yml"] = compose
	dir := writeFiles(t, files)
	sc, err := Load(context.Background(), filepath.Join(dir, "compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	out, diag := &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	opts.Roster = fakePeer(t)
	opts.Out, opts.Diag = out, diag
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if until != nil {
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					if until(out.String(), diag.String()) {
						cancel()
						return
					}
				}
			}
		}()
	}
	res, err := Run(ctx, sc, opts)
	if err != nil {
		t.Fatalf("Run: %v\ndiag:\n%s", err, diag)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output:\n%s\ndiag:\n%s", out, diag)
		}
	})
	return res, out, diag
}

const threePeers = `
x-roster: {duration: 1500ms}
services:
  one:
    image: roster
    command: ["-h", "hosts.txt"]
  two:
    image: roster
    command: ["-h", "hosts.txt", "-d", "0.2"]
  three:
    image: roster
    hostname: three
    command: ["-h", "hosts.txt", "-d", "0.4"]
`

var stampedLine = regexp.MustCompile(`^(one  |two  |three) \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (.*)$`)

func TestRunPrefixesOutputAndCollectsAStampedLog(t *testing.T) {
	t.Parallel()
	res, out, _ := runFake(t, threePeers, map[string]string{"hosts.txt": "three\none\ntwo\n"}, Options{})
	if res.Status != 0 || len(res.Failures) != 0 || res.Interrupted {
		t.Fatalf("status %d, failures %q, interrupted %v", res.Status, res.Failures, res.Interrupted)
	}
	// Ids come from hosts.txt: three is 1, one is 2, two is 3.
	for _, want := range []string{
		"three | {peer_id:1, view_id: 1, leader: 1, memb_list: [1,2,3]}",
		"one   | {peer_id:2, view_id: 1, leader: 1, memb_list: [1,2,3]}",
		"two   | {peer_id:3, view_id: 1, leader: 1, memb_list: [1,2,3]}",
		"two   | leaving",
	} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("live output lacks %q", want)
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(res.Log), "\n"), "\n") {
		if !stampedLine.MatchString(l) {
			t.Errorf("collected line %q is not name | timestamp line", l)
		}
	}
	collected := string(res.Log) + string(res.Teardown)
	if strings.Count(collected, "\n") != strings.Count(out.String(), "\n") {
		t.Errorf("the collected log has %d lines, the live output %d", strings.Count(collected, "\n"), strings.Count(out.String(), "\n"))
	}
	if res.Hostsfile["three"] != 1 || res.Hostsfile["one"] != 2 || res.Hostsfile["two"] != 3 {
		t.Errorf("hostsfile %v", res.Hostsfile)
	}
	// Every peer has its own address in one 127.X.Y.0/24, .11 .12 .13 in service order.
	ips := []string{res.Services[0].IP, res.Services[1].IP, res.Services[2].IP}
	prefix := ips[0][:strings.LastIndexByte(ips[0], '.')+1]
	if want := []string{prefix + "11", prefix + "12", prefix + "13"}; !slices.Equal(ips, want) || prefix == "127.0.0." {
		t.Errorf("addresses %v", ips)
	}
	for _, s := range res.Services {
		if s.Starts != 1 || len(s.Exits) != 0 || s.Down || s.ForcedStop {
			t.Errorf("%s: %+v", s.Peer, s)
		}
	}
	if res.Elapsed < 1500*time.Millisecond {
		t.Errorf("the run ended after %v, before its duration", res.Elapsed)
	}
	assertAllGone(t, res)
}

func TestRunSharedLoopbackGivesEachPeerItsOwnPorts(t *testing.T) {
	t.Parallel()
	res, out, _ := runFake(t, threePeers, map[string]string{"hosts.txt": "one\ntwo\nthree\nfour\n"}, Options{SharedLoopback: true})
	if res.Status != 0 {
		t.Fatalf("status %d: %q", res.Status, res.Failures)
	}
	// The fake peer checks that its hostsfile line is 127.0.0.1:<its gossip port>.
	if strings.Count(out.String(), "memb_list") != 3 {
		t.Errorf("want 3 view lines")
	}
	// four is in the hostsfile but not a service: it gets an address, not a DNS lookup.
	if !strings.Contains(res.HostsfileText, "one 127.0.0.1:") || !regexp.MustCompile(`(?m)^four 127\.0\.0\.1:\d+ # not started$`).MatchString(res.HostsfileText) {
		t.Errorf("hostsfile:\n%s", res.HostsfileText)
	}
	assertAllGone(t, res)
}

func TestRunExpectedCrashIsNotAFailure(t *testing.T) {
	t.Parallel()
	// The run ends once five printed "crashing" (or after a minute): a
	// fixed length of 1 s could end before five's crash on a loaded machine.
	res, out, diag := runFakeUntil(t, `
x-roster: {duration: 60s}
services:
  one: {image: roster, command: ["-h", "hosts.txt"]}
  five: {image: roster, command: ["-h", "hosts.txt", "-c", "0.2"]}
`, map[string]string{"hosts.txt": "one\nfive\n"}, Options{}, func(out, _ string) bool {
		return strings.Contains(out, `five | {peer_id:2, view_id: 1, leader: 1, message:"crashing"}`)
	})
	if res.Status != 0 || diag.String() != "" && strings.Contains(diag.String(), "unexpectedly") {
		t.Fatalf("status %d, diag %q", res.Status, diag)
	}
	if !strings.Contains(out.String(), `five | {peer_id:2, view_id: 1, leader: 1, message:"crashing"}`) {
		t.Error("no crashing line")
	}
	five := res.Services[1]
	if len(five.Exits) != 1 || !five.Exits[0].Crashed || five.Exits[0].Status != 1 || !five.Down {
		t.Errorf("five: %+v", five)
	}
	if k := res.Killed(); len(k) != 0 {
		t.Errorf("Killed() = %v, want none (five announced its crash)", k)
	}
	assertAllGone(t, res)
}

func TestRunUnexpectedExitFailsTheRun(t *testing.T) {
	t.Parallel()
	// The run ends once both exits were reported (or after a minute): a
	// fixed length could end before them on a loaded machine.
	want := []string{"lab: peer two exited unexpectedly with status 2", "lab: peer three exited unexpectedly with status 1"}
	res, _, diag := runFakeUntil(t, `
x-roster: {duration: 60s}
services:
  one: {image: roster}
  two: {image: roster, command: ["--exit-after", "0.1", "--exit-status", "2"]}
  three: {image: roster, command: ["-c", "5", "--exit-after", "0.1", "--exit-status", "1"]}
`, nil, Options{}, func(_, diag string) bool {
		return strings.Contains(diag, want[0]) && strings.Contains(diag, want[1])
	})
	if res.Status != 1 || !slices.Equal(res.Failures, want) {
		t.Fatalf("status %d, failures %q; want 1, %q", res.Status, res.Failures, want)
	}
	for _, w := range want {
		if !strings.Contains(diag.String(), w+"\n") {
			t.Errorf("diag lacks %q", w)
		}
	}
	// three exited with status 1 under -c but never printed "crashing".
	if k := res.Killed(); !slices.Equal(k, []int{2, 3}) {
		t.Errorf("Killed() = %v, want [2 3]", k)
	}
	assertAllGone(t, res)
}

func TestRunRestartsOnFailureWithTheSameDataDir(t *testing.T) {
	t.Parallel()
	// The run ends once two crashed a third time, one started again and
	// three a third time (or after a minute): a fixed length missed two's
	// last crash on a loaded machine.
	twoCrashed := regexp.MustCompile(`two +\| \{peer_id:2, [^\n]*"crashing"`)
	res, out, diag := runFakeUntil(t, `
x-roster: {duration: 60s}
services:
  one: {image: roster, restart: on-failure, command: ["--fail-first"]}
  two: {image: roster, restart: "on-failure:2", command: ["-c", "0.1"]}
  three: {image: roster, restart: always, command: ["--exit-after", "0.1"]}
`, nil, Options{}, func(out, _ string) bool {
		return len(twoCrashed.FindAllString(out, -1)) >= 3 &&
			strings.Contains(out, "one   | fake peer one id 1 start 2 at ") &&
			strings.Contains(out, "three | fake peer three id 3 start 3 at ")
	})
	if res.Status != 0 {
		t.Fatalf("status %d: %q", res.Status, res.Failures)
	}
	one, two, three := res.Services[0], res.Services[1], res.Services[2]
	if one.Starts != 2 || len(one.Exits) != 1 || one.Exits[0].Status != 3 || !one.Exits[0].Restarted {
		t.Errorf("one: %+v", one)
	}
	if !strings.Contains(out.String(), "one   | fake peer one id 1 start 2 at ") {
		t.Error("the restarted peer did not find its data directory")
	}
	if !strings.Contains(diag.String(), "lab: peer one exited with status 3; restarting it (restart: on-failure)") {
		t.Errorf("diag %q", diag)
	}
	// on-failure:2 -> three starts, the last crash is final (and expected).
	if two.Starts != 3 || len(two.Exits) != 3 || two.Exits[2].Restarted || !two.Exits[2].Crashed || !two.Down {
		t.Errorf("two: %+v", two)
	}
	if three.Starts < 3 || !three.Exits[0].Restarted || three.Exits[0].Status != 0 {
		t.Errorf("three (restart: always): %+v", three)
	}
	if len(one.Pids) != 2 || one.Pids[0] == one.Pids[1] {
		t.Errorf("pids %v", one.Pids)
	}
	assertAllGone(t, res)
}

func TestRunStopsEverythingItStarted(t *testing.T) {
	t.Parallel()
	// The run ends once both grandchildren are up (or after a minute).
	grandchildRe := regexp.MustCompile(`grandchild (\d+)`)
	res, out, diag := runFakeUntil(t, `
x-roster: {duration: 60s}
services:
  one: {image: roster, command: ["--spawn"]}
  stubborn: {image: roster, command: ["--ignore-term", "--spawn"]}
`, nil, Options{StopTimeout: 500 * time.Millisecond}, func(out, _ string) bool {
		return len(grandchildRe.FindAllString(out, -1)) >= 2
	})
	if res.Status != 0 {
		t.Fatalf("status %d: %q", res.Status, res.Failures)
	}
	if !res.Services[1].ForcedStop || res.Services[0].ForcedStop {
		t.Errorf("forced stops: one %v, stubborn %v", res.Services[0].ForcedStop, res.Services[1].ForcedStop)
	}
	if !strings.Contains(diag.String(), "lab: peer stubborn did not stop within 500ms of SIGTERM and was killed") {
		t.Errorf("diag %q", diag)
	}
	var grandchildren []int
	for _, m := range grandchildRe.FindAllStringSubmatch(out.String(), -1) {
		pid, _ := strconv.Atoi(m[1])
		grandchildren = append(grandchildren, pid)
	}
	if len(grandchildren) != 2 {
		t.Fatalf("want 2 grandchildren, output:\n%s", out)
	}
	assertAllGone(t, res, grandchildren...)
}

func TestRunEndsEarlyWhenEveryProcessHasExited(t *testing.T) {
	t.Parallel()
	res, _, _ := runFake(t, `
x-roster: {duration: 30s}
services:
  one: {image: roster, command: ["-c", "0.1"]}
  two: {image: roster, command: ["-c", "0.2"]}
`, nil, Options{})
	if res.Elapsed > 5*time.Second || res.Status != 0 {
		t.Errorf("elapsed %v, status %d", res.Elapsed, res.Status)
	}
}

func TestRunStopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"compose.yml": threePeers, "hosts.txt": "one\ntwo\nthree\n"})
	sc, err := Load(context.Background(), filepath.Join(dir, "compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Duration = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, sc, Options{Roster: fakePeer(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Elapsed > 10*time.Second || res.Status != 0 {
		t.Errorf("interrupted %v, elapsed %v, status %d %q", res.Interrupted, res.Elapsed, res.Status, res.Failures)
	}
	assertAllGone(t, res)
}

func TestControlKillsAndStartsPeers(t *testing.T) {
	t.Parallel()
	started := make(chan error, 1)
	opts := Options{OnStart: func(c *Control) {
		started <- func() error {
			time.Sleep(200 * time.Millisecond)
			if err := c.Kill("two"); err != nil {
				return err
			}
			if err := c.Kill("nobody"); err == nil {
				return errors.New("Kill(nobody) succeeded")
			}
			deadline := time.Now().Add(3 * time.Second)
			for {
				err := c.Start("two")
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					return err
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond)
			return c.Kill("three")
		}()
	}}
	res, out, _ := runFake(t, threePeers, map[string]string{"hosts.txt": "one\ntwo\nthree\n"}, opts)
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	if res.Status != 0 {
		t.Fatalf("status %d %q", res.Status, res.Failures)
	}
	two := res.Services[1]
	if two.Starts != 2 || !two.Exits[0].Killed || two.Down {
		t.Errorf("two: %+v", two)
	}
	if !strings.Contains(out.String(), "two   | fake peer two id 2 start 2") {
		t.Error("two was not started again with its data directory")
	}
	if k := res.Killed(); !slices.Equal(k, []int{3}) {
		t.Errorf("Killed() = %v, want [3]", k)
	}
	assertAllGone(t, res)
}

func TestRunInputErrors(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"hosts.txt": "one\n"})
	base := func() *Scenario {
		return &Scenario{File: "c.yml", Dir: dir, Duration: time.Second, Services: []Service{svc("one", "-h", "hosts.txt")}}
	}
	noDuration := base()
	noDuration.Duration = 0
	notInFile := base()
	notInFile.Services = append(notInFile.Services, svc("two", "-h", "hosts.txt"))
	cases := []struct {
		name string
		sc   *Scenario
		bin  string
		want string
	}{
		{"no duration", noDuration, fakePeer(t), "give --duration"},
		{"no services", &Scenario{File: "c.yml", Duration: time.Second}, fakePeer(t), "no services"},
		{"not in hostsfile", notInFile, fakePeer(t), `service two: peer name "two" is not in hostsfile ` + filepath.Join(dir, "hosts.txt")},
		{"no binary", base(), filepath.Join(dir, "nope"), "roster binary"},
		{"binary not executable", base(), filepath.Join(dir, "hosts.txt"), "not an executable"},
	}
	for _, c := range cases {
		res, err := Run(context.Background(), c.sc, Options{Roster: c.bin})
		var ie *InputError
		if !errors.As(err, &ie) || res != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Run = %v, %v; want an InputError containing %q", c.name, res, err, c.want)
		}
	}
}
