package nemesis

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseScheduleReadsEveryAction(t *testing.T) {
	args := strings.Fields("--at 35s heal --at 15s partition 1,2/3,4,5 --at=20 pause leader 10s --at 1m loss 10% two,3 " +
		"--at 1m delay 50ms±20ms --at 70s clear --at 71s clear one --at 72s resume one --at 80s kill three --at 90s start 3 --at 95s cut-client jobs c3 --at 99s heal-client jobs c3")
	steps, err := ParseSchedule(args)
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{
		{15 * time.Second, Action{Kind: Partition, Sides: [][]string{{"1", "2"}, {"3", "4", "5"}}}},
		{20 * time.Second, Action{Kind: Pause, Peers: []string{"leader"}, For: 10 * time.Second}},
		{35 * time.Second, Action{Kind: Heal}},
		{time.Minute, Action{Kind: Loss, Loss: 0.1, Peers: []string{"two", "3"}}},
		{time.Minute, Action{Kind: Delay, Delay: 50 * time.Millisecond, Jitter: 20 * time.Millisecond}},
		{70 * time.Second, Action{Kind: Clear}},
		{71 * time.Second, Action{Kind: Clear, Peers: []string{"one"}}},
		{72 * time.Second, Action{Kind: Resume, Peers: []string{"one"}}},
		{80 * time.Second, Action{Kind: Kill, Peers: []string{"three"}}},
		{90 * time.Second, Action{Kind: Start, Peers: []string{"3"}}},
		{95 * time.Second, Action{Kind: CutClient, Group: "jobs", Client: "c3"}},
		{99 * time.Second, Action{Kind: HealClient, Group: "jobs", Client: "c3"}},
	}
	if !reflect.DeepEqual(steps, want) {
		t.Fatalf("got  %+v\nwant %+v", steps, want)
	}
	// What FormatSchedule writes reads back the same.
	again, err := ParseSchedule(strings.Fields(FormatSchedule(steps)))
	if err != nil {
		t.Fatalf("reading %q: %v", FormatSchedule(steps), err)
	}
	if !reflect.DeepEqual(again, want) {
		t.Fatalf("round trip of %q:\ngot  %+v\nwant %+v", FormatSchedule(steps), again, want)
	}
}

func TestParseSchedulePartitionForms(t *testing.T) {
	for _, s := range []string{"one,two|three,four,five", "one,two/three,four,five"} {
		steps, err := ParseSchedule([]string{"--at", "1s", "partition", s})
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got := steps[0].Sides; !reflect.DeepEqual(got, [][]string{{"one", "two"}, {"three", "four", "five"}}) {
			t.Errorf("%s: sides %v", s, got)
		}
	}
}

func TestParseScheduleRejectsBadSteps(t *testing.T) {
	tests := []struct{ args, want string }{
		{"heal", `"heal": a step starts with --at TIME`},
		{"--at", "--at at the end"},
		{"--at soon heal", `--at "soon": want a time like 15s`},
		{"--at -5s heal", "must not be negative"},
		{"--at 5s", "no action"},
		{"--at 5s explode", `"explode" is not an action`},
		{"--at 5s heal now", "heal: want no arguments"},
		{"--at 5s partition 1,2,3", "want at least two sides"},
		{"--at 5s partition 1,2/2,3", "peer 2 is on two sides"},
		{"--at 5s partition 1,2//3", "side 2: no peers"},
		{"--at 5s partition leader/2", "not leader"},
		{"--at 5s pause one", "pause: want pause PEER DURATION"},
		{"--at 5s pause one soon", `want a positive duration`},
		{"--at 5s pause one,two 5s", "want one peer"},
		{"--at 5s loss 150%", "loss: "},
		{"--at 5s loss lots", "loss: "},
		{"--at 5s delay fast", "delay: "},
		{"--at 5s loss 10% one,one", `"one" twice`},
		{"--at 5s kill", "kill: want kill PEER"},
		{"--at 5s clear a b", "clear: want clear [PEERS]"},
		{"--at 5s cut-client jobs", "cut-client: want cut-client GROUP CLIENT"},
	}
	for _, tt := range tests {
		_, err := ParseSchedule(strings.Fields(tt.args))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSchedule(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	c, err := ParseArgs(strings.Fields("-h hosts.txt --api-port=9000 --peers one=a:1 --retry 1s --dry-run --at 5s heal"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Hostsfile != "hosts.txt" || c.APIPort != 9000 || c.Peers != "one=a:1" || c.Retry != time.Second || !c.DryRun || len(c.Steps) != 1 {
		t.Errorf("got %+v", c)
	}
	if c, err := ParseArgs([]string{"--help"}); err != nil || !c.Help {
		t.Errorf("--help: %+v, %v", c, err)
	}
	for args, want := range map[string]string{
		"":                           "no steps",
		"-h":                         "-h needs a value",
		"--api-port 0 --at 1s heal":  "--api-port \"0\": want a port number",
		"--retry never --at 1s heal": "--retry \"never\"",
		"--verbose --at 1s heal":     `unknown option "--verbose"`,
		"--dry-run=yes --at 1s heal": "--dry-run takes no value",
		"heal":                       "a step starts with --at",
	} {
		if _, err := ParseArgs(strings.Fields(args)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseArgs(%q) = %v, want an error containing %q", args, err, want)
		}
	}
}

func TestParsePeers(t *testing.T) {
	ts, err := ParsePeers("one=127.0.0.11:8082, 10.0.0.2:9000")
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{{Name: "one", API: "127.0.0.11:8082"}, {Name: "10.0.0.2", API: "10.0.0.2:9000"}}
	if !reflect.DeepEqual(ts, want) {
		t.Errorf("got %+v, want %+v", ts, want)
	}
	for _, bad := range []string{"", "one", "one=host", "one=host:http", "one=host:70000", "=h:1"} {
		if _, err := ParsePeers(bad); err == nil {
			t.Errorf("ParsePeers(%q) accepted", bad)
		}
	}
}
