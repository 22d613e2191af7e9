package soak

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/lab/nemesis"
)

func TestSoakPlanIsDecidedBySeed(t *testing.T) {
	a, b := NewPlan(42, 30*time.Second), NewPlan(42, 30*time.Second)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different plans:\n%s\n%s", a, b)
	}
	differ := false
	for s := uint64(43); s < 53; s++ {
		if NewPlan(s, 30*time.Second).String() != a.String() {
			differ = true
		}
	}
	if !differ {
		t.Error("ten other seeds all gave the plan of seed 42")
	}
}

// TestSoakPlansKeepTheirPromises checks many plans: faults only in the
// window, episodes that do not overlap, every kill but a last one started
// again, partitions that are partitions, and everything cleared before the
// group is left to settle.
func TestSoakPlansKeepTheirPromises(t *testing.T) {
	kinds := map[nemesis.Kind]int{}
	for seed := uint64(0); seed < 300; seed++ {
		d := []time.Duration{MinDuration, 30 * time.Second, 45 * time.Second}[seed%3]
		p := NewPlan(seed, d)
		where := func(format string, a ...any) {
			t.Helper()
			t.Errorf("seed %d (%v) %s: "+format, append([]any{seed, d, p}, a...)...)
		}
		if len(p.Events) == 0 {
			where("no events")
			continue
		}
		last := p.Events[len(p.Events)-1]
		if last.Kind != nemesis.Clear || last.At != d-soakSettle {
			where("last event %s, want clear at %v", last.Step, d-soakSettle)
		}
		episodeEnd := time.Duration(0)
		permanent := false
		for i, e := range p.Events {
			kinds[e.Kind]++
			if e.At < soakWarmup || e.At > d-soakSettle {
				where("event %s outside [%v, %v]", e.Step, soakWarmup, d-soakSettle)
			}
			if i > 0 && e.At < p.Events[i-1].At {
				where("events out of order")
			}
			if _, err := nemesis.ParseSchedule(strings.Fields(e.Step.String())); err != nil {
				where("event %q does not parse: %v", e.Step, err)
			}
			switch e.Kind {
			case nemesis.Kill, nemesis.Partition, nemesis.Pause:
				if permanent {
					where("an episode after a kill for good")
				}
				if e.At < episodeEnd {
					where("%s starts before the previous episode ended at %v", e.Step, episodeEnd)
				}
				episodeEnd = e.At + e.For
				if e.Kind == nemesis.Kill {
					permanent = true // until its start shows up
				}
			case nemesis.Start:
				if e.StartOf < 0 || p.Events[e.StartOf].Kind != nemesis.Kill || !slices.Equal(p.Events[e.StartOf].Peers, e.Peers) {
					where("start %s does not undo a kill", e.Step)
				}
				permanent = false
				episodeEnd = e.At
			case nemesis.Heal:
				episodeEnd = e.At
			}
			if e.Kind == nemesis.Partition {
				n := 0
				for _, s := range e.Sides {
					n += len(s)
				}
				if n != 5 || len(e.Sides) < 2 {
					where("partition %v is not of the five peers", e.Sides)
				}
			}
		}
	}
	for _, k := range []nemesis.Kind{nemesis.Kill, nemesis.Start, nemesis.Partition, nemesis.Heal, nemesis.Pause, nemesis.Loss, nemesis.Delay} {
		if kinds[k] == 0 {
			t.Errorf("300 plans have no %v", k)
		}
	}
}

func TestPartitionLosers(t *testing.T) {
	for _, tt := range []struct {
		sides [][]string
		want  []string
	}{
		{[][]string{{"1", "2"}, {"3", "4", "5"}}, []string{"1", "2"}},
		{[][]string{{"2", "3", "4", "5"}, {"1"}}, []string{"1"}},
		{[][]string{{"1", "2"}, {"3", "4"}, {"5"}}, []string{"1", "2", "3", "4", "5"}},
	} {
		got := partitionLosers(tt.sides)
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("partitionLosers(%v) = %v, want %v", tt.sides, got, tt.want)
		}
	}
}

func TestLossPlan(t *testing.T) {
	p := LossPlan(LossConfig{Loss: 0.1, Duration: 5 * time.Minute, CrashEvery: time.Minute, Down: 20 * time.Second, Seed: 7})
	if !slices.Equal(p.PeerArgs, []string{"--loss", "0.1"}) {
		t.Errorf("peer args %q", p.PeerArgs)
	}
	// Kills at 30 s, 1m30s, ..., 4m30s (its start at 4m50s leaves 10 s to settle).
	var kills []time.Duration
	leaders := 0
	for i, e := range p.Events {
		switch e.Kind {
		case nemesis.Kill:
			kills = append(kills, e.At)
			if e.Peers[0] == "leader" {
				leaders++
			}
		case nemesis.Start:
			if k := p.Events[e.StartOf]; k.Kind != nemesis.Kill || e.At-k.At != 20*time.Second || e.StartOf != i-1 {
				t.Errorf("start %s does not follow its kill by 20 s", e.Step)
			}
		}
	}
	want := []time.Duration{30 * time.Second, 90 * time.Second, 150 * time.Second, 210 * time.Second, 270 * time.Second}
	if !slices.Equal(kills, want) || leaders != 1 {
		t.Errorf("kills at %v (%d of the leader), want %v with one of the leader", kills, leaders, want)
	}
	if p := LossPlan(LossConfig{Loss: 0.2, Duration: time.Minute, Down: time.Second}); len(p.Events) != 0 {
		t.Errorf("no --crash-every, yet events %s", p)
	}
}
