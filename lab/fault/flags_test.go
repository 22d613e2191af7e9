package fault

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"roster/internal/testkit"
)

func TestParseLoss(t *testing.T) {
	for in, want := range map[string]float64{"0.1": 0.1, "0": 0, "1": 1, " 0.25 ": 0.25, "10%": 0.1, "100%": 1, "0 %": 0} {
		got, err := ParseLoss(in)
		if err != nil || got != want {
			t.Errorf("ParseLoss(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"":     "want a probability like 0.1",
		"abc":  `--loss "abc"`,
		"1.5":  "want a probability between 0 and 1",
		"-0.1": "between 0 and 1",
		"150%": "between 0 and 1",
		"NaN":  "want a probability",
		"Inf":  "want a probability",
		"%":    "want a probability",
	} {
		_, err := ParseLoss(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseLoss(%q): error %v, want it to contain %q", in, err, want)
		}
	}
}

func TestParseDelay(t *testing.T) {
	ms := time.Millisecond
	for in, want := range map[string][2]time.Duration{
		"50ms±20ms":     {50 * ms, 20 * ms},
		"50ms+-20ms":    {50 * ms, 20 * ms},
		"50ms~20ms":     {50 * ms, 20 * ms},
		" 1s ± 250ms ":  {time.Second, 250 * ms},
		"50ms":          {50 * ms, 0},
		"0s":            {0, 0},
		"20ms±20ms":     {20 * ms, 20 * ms},
		"1.5ms~500µs":   {1500 * time.Microsecond, 500 * time.Microsecond},
		"100ms+-0s":     {100 * ms, 0},
		"2m":            {2 * time.Minute, 0},
		"10ms~1ms":      {10 * ms, ms},
		"10ms\u00b11ms": {10 * ms, ms},
	} {
		d, j, err := ParseDelay(in)
		if err != nil || d != want[0] || j != want[1] {
			t.Errorf("ParseDelay(%q) = %v, %v, %v; want %v, %v", in, d, j, err, want[0], want[1])
		}
	}
	for in, want := range map[string]string{
		"":           `"" is not a duration`,
		"50":         `"50" is not a duration`,
		"soon":       `"soon" is not a duration`,
		"50ms±":      `jitter "" is not a duration`,
		"50ms±x":     `jitter "x" is not a duration`,
		"±20ms":      `"" is not a duration`,
		"-5ms":       "must not be negative",
		"10ms±20ms":  "jitter 20ms exceeds delay 10ms",
		"10ms~-20ms": "jitter -20ms: must not be negative",
	} {
		_, _, err := ParseDelay(in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "--latency ") {
			t.Errorf("ParseDelay(%q): error %v, want it to start with --latency and contain %q", in, err, want)
		}
	}
}

func TestParsePartition(t *testing.T) {
	for in, want := range map[string][][]int{
		"1,2|3,4,5":       {{1, 2}, {3, 4, 5}},
		"1|2|3":           {{1}, {2}, {3}},
		" 1, 2 | 3 ":      {{1, 2}, {3}},
		"1,2/3,4,5":       {{1, 2}, {3, 4, 5}},
		"1,2,|3":          {{1, 2}, {3}},
		"10,11|12,13,100": {{10, 11}, {12, 13, 100}},
	} {
		got, err := ParsePartition(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParsePartition(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"":          "want at least two sides, got 1",
		"1,2,3":     "want at least two sides",
		"1,2|":      "side 2 is empty",
		"|3":        "side 1 is empty",
		"1,x|3":     `side 1: "x" is not a peer id`,
		"1,2|3.5":   `side 2: "3.5" is not a peer id`,
		"0,1|2":     "side 1: 0 is not a peer id",
		"1,-2|3":    "-2 is not a peer id",
		"1,2|2,3":   "peer 2 is on sides 1 and 2",
		"1,1|2":     "side 1 names peer 1 twice",
		"1,2||3":    "side 2 is empty",
		"1;2|3":     `"1;2" is not a peer id`,
		"1,2|3/4,5": `"3/4" is not a peer id`,
	} {
		_, err := ParsePartition(in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "--partition ") {
			t.Errorf("ParsePartition(%q): error %v, want it to start with --partition and contain %q", in, err, want)
		}
	}
}

func TestFlagsValidate(t *testing.T) {
	sides := [][]int{{1, 2}, {3}}
	good := []Flags{
		{},
		{Loss: 0.1, Delay: 50 * time.Millisecond, Jitter: 20 * time.Millisecond},
		{Partition: sides},
		{Partition: sides, PartitionAt: 15 * time.Second, HealAt: 30 * time.Second},
		{Partition: sides, HealAt: time.Second},
	}
	for _, f := range good {
		if err := f.Validate(); err != nil {
			t.Errorf("%+v: %v", f, err)
		}
	}
	for _, c := range []struct {
		f    Flags
		want string
	}{
		{Flags{Loss: 2}, "--loss 2"},
		{Flags{Delay: -time.Second}, "--latency: delay -1s"},
		{Flags{Delay: time.Millisecond, Jitter: time.Second}, "exceeds delay"},
		{Flags{PartitionAt: time.Second}, "need --partition"},
		{Flags{HealAt: time.Second}, "need --partition"},
		{Flags{Partition: [][]int{{1}}}, "--partition: want at least two sides"},
		{Flags{Partition: sides, PartitionAt: -time.Second}, "--partition-at -1s"},
		{Flags{Partition: sides, HealAt: -time.Second}, "--heal-at -1s"},
		{Flags{Partition: sides, PartitionAt: 30 * time.Second, HealAt: 15 * time.Second}, "--heal-at 15s must come after --partition-at 30s"},
		{Flags{Partition: sides, PartitionAt: time.Second, HealAt: time.Second}, "must come after"},
	} {
		if err := c.f.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want it to contain %q", c.f, err, c.want)
		}
	}
}

func TestFlagsApplySchedulesPartitionAndHeal(t *testing.T) {
	inj := New(Options{Self: 1})
	f := Flags{Loss: 0.1, Partition: [][]int{{1, 2}, {3, 4, 5}},
		PartitionAt: 100 * time.Millisecond, HealAt: 250 * time.Millisecond}
	start := time.Now()
	if err := f.Apply(context.Background(), inj, start); err != nil {
		t.Fatal(err)
	}
	if s := inj.State(); len(s.Rules) != 1 || s.Rules[0].Loss != 0.1 {
		t.Fatalf("rules after Apply: %+v, want loss 0.1 on every link", s.Rules)
	}
	partitioned := func() bool { return inj.blocked(3, Out, Gossip) }
	if partitioned() && time.Since(start) < 100*time.Millisecond {
		t.Fatal("partition installed before --partition-at")
	}
	testkit.Eventually(t, 5*time.Second, "the partition", partitioned)
	if at := time.Since(start); at < 100*time.Millisecond {
		t.Fatalf("partition installed at %v, before --partition-at 100ms", at)
	}
	testkit.Eventually(t, 5*time.Second, "the heal", func() bool { return !partitioned() })
	if at := time.Since(start); at < 250*time.Millisecond {
		t.Fatalf("healed at %v, before --heal-at 250ms", at)
	}
	if s := inj.State(); len(s.Rules) != 1 {
		t.Fatalf("the heal removed the loss rule: %+v", s)
	}
}

func TestFlagsApplyDuePartitionIsImmediate(t *testing.T) {
	inj := New(Options{Self: 3})
	f := Flags{Partition: [][]int{{1, 2}, {3, 4, 5}}, PartitionAt: time.Second}
	if err := f.Apply(context.Background(), inj, time.Now().Add(-2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if !inj.blocked(1, In, Raft) {
		t.Fatal("a partition due by now was not installed before Apply returned")
	}
}

func TestFlagsApplyCanceled(t *testing.T) {
	inj := New(Options{Self: 1})
	ctx, cancel := context.WithCancel(context.Background())
	f := Flags{Partition: [][]int{{1}, {2}}, PartitionAt: 50 * time.Millisecond}
	if err := f.Apply(ctx, inj, time.Now()); err != nil {
		t.Fatal(err)
	}
	cancel()
	// Had the schedule survived the cancel, the partition would be on by
	// 50ms; give it ample time to show up.
	time.Sleep(200 * time.Millisecond)
	if inj.blocked(2, Out, Gossip) {
		t.Fatal("the partition was installed after the context was canceled")
	}
}

func TestFlagsApplyRejectsBadFlags(t *testing.T) {
	inj := New(Options{Self: 1})
	inj.SetRules([]Rule{{Loss: 0.3}})
	if err := (Flags{Loss: 3}).Apply(context.Background(), inj, time.Now()); err == nil {
		t.Fatal("Apply accepted --loss 3")
	}
	if s := inj.State(); len(s.Rules) != 1 || s.Rules[0].Loss != 0.3 {
		t.Fatal("a rejected Apply changed the rules")
	}
}
