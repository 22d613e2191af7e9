package fault

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseLoss parses a --loss value: a probability ("0.1") or a percentage
// ("10%").
func ParseLoss(s string) (float64, error) {
	t := strings.TrimSpace(s)
	scale := 1.0
	if pct, ok := strings.CutSuffix(t, "%"); ok {
		t, scale = strings.TrimSpace(pct), 100
	}
	p, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
		return 0, fmt.Errorf("--loss %q: want a probability like 0.1 or a percentage like 10%%", s)
	}
	p /= scale
	if err := checkLoss(p); err != nil {
		return 0, fmt.Errorf("--loss %q: %w", s, err)
	}
	return p, nil
}

// delaySeparators are the ways to write ± in a --latency value.
var delaySeparators = []string{"±", "+-", "~"}

// ParseDelay parses a --latency value: "50ms±20ms" (or "50ms+-20ms" or
// "50ms~20ms", since ± is hard to type) for 50 ms give or take up to 20 ms,
// uniformly, or "50ms" for a fixed delay. The jitter may not exceed the delay.
func ParseDelay(s string) (delay, jitter time.Duration, err error) {
	t := strings.TrimSpace(s)
	base, spread := t, ""
	for _, sep := range delaySeparators {
		if b, j, ok := strings.Cut(t, sep); ok {
			base, spread = strings.TrimSpace(b), strings.TrimSpace(j)
			break
		}
	}
	if delay, err = time.ParseDuration(base); err != nil {
		return 0, 0, fmt.Errorf("--latency %q: %q is not a duration (want like 50ms±20ms)", s, base)
	}
	if spread != "" || base != t {
		if jitter, err = time.ParseDuration(spread); err != nil {
			return 0, 0, fmt.Errorf("--latency %q: jitter %q is not a duration (want like 50ms±20ms)", s, spread)
		}
	}
	if err := checkDelay(delay, jitter); err != nil {
		return 0, 0, fmt.Errorf("--latency %q: %w", s, err)
	}
	return delay, jitter, nil
}

// ParsePartition parses a --partition value: sides separated by '|' (or
// '/'), each a comma-separated list of peer ids, like "1,2|3,4,5". It
// needs at least two sides, and no peer on two of them.
func ParsePartition(s string) ([][]int, error) {
	sep := "|"
	if !strings.Contains(s, sep) && strings.Contains(s, "/") {
		sep = "/"
	}
	var sides [][]int
	for n, part := range strings.Split(s, sep) {
		var side []int
		for f := range strings.SplitSeq(part, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			id, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("--partition %q: side %d: %q is not a peer id (want like 1,2|3,4,5)", s, n+1, f)
			}
			side = append(side, id)
		}
		sides = append(sides, side)
	}
	if err := ValidatePartition(sides); err != nil {
		return nil, fmt.Errorf("--partition %q: %w (want like 1,2|3,4,5)", s, err)
	}
	return sides, nil
}

// Flags are the fault settings a peer starts with, as read from its command
// line: a default rule for every link (Loss, Delay ± Jitter) and an optional
// scheduled partition. The zero Flags mean no faults. A plain value.
type Flags struct {
	// Loss is --loss, on every link (packets, dials, live connections).
	Loss float64
	// Delay and Jitter are --latency, on every link.
	Delay, Jitter time.Duration
	// Partition is --partition (nil for none).
	Partition [][]int
	// PartitionAt is --partition-at: when, after start, the partition
	// begins (0: from the start).
	PartitionAt time.Duration
	// HealAt is --heal-at: when, after start, the partition heals (0: never).
	HealAt time.Duration
}

// Validate says which flag is wrong, if any.
func (f Flags) Validate() error {
	if err := checkLoss(f.Loss); err != nil {
		return fmt.Errorf("--loss %v: %w", f.Loss, err)
	}
	if err := checkDelay(f.Delay, f.Jitter); err != nil {
		return fmt.Errorf("--latency: %w", err)
	}
	if len(f.Partition) == 0 {
		if f.PartitionAt != 0 || f.HealAt != 0 {
			return fmt.Errorf("--partition-at and --heal-at need --partition")
		}
		return nil
	}
	if err := ValidatePartition(f.Partition); err != nil {
		return fmt.Errorf("--partition: %w", err)
	}
	if f.PartitionAt < 0 {
		return fmt.Errorf("--partition-at %v: must not be negative", f.PartitionAt)
	}
	if f.HealAt < 0 {
		return fmt.Errorf("--heal-at %v: must not be negative", f.HealAt)
	}
	if f.HealAt != 0 && f.HealAt <= f.PartitionAt {
		return fmt.Errorf("--heal-at %v must come after --partition-at %v", f.HealAt, f.PartitionAt)
	}
	return nil
}

// Rules returns the default rules the flags ask for (none for the zero Flags).
func (f Flags) Rules() []Rule {
	if f.Loss == 0 && f.Delay == 0 {
		return nil
	}
	// Sent traffic only: when every peer starts with the same flags, each
	// link then loses (or delays) each way once, not at both ends.
	return []Rule{{Dir: Out, Loss: f.Loss, Delay: Duration(f.Delay), Jitter: Duration(f.Jitter)}}
}

// Apply checks the flags, installs their rules on inj (replacing its rules),
// and schedules the partition: it starts at start+PartitionAt and heals at
// start+HealAt. A partition due by now is installed before Apply returns;
// later steps run on a goroutine that stops when ctx is done (a partition
// already installed then stays). Apply does not block.
func (f Flags) Apply(ctx context.Context, inj *Injector, start time.Time) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if rules := f.Rules(); len(rules) > 0 { // a peer starts with none
		if err := inj.SetRules(rules); err != nil {
			return err
		}
	}
	if len(f.Partition) == 0 {
		return nil
	}
	at := start.Add(f.PartitionAt)
	if !time.Now().Before(at) {
		if err := inj.SetPartition(f.Partition); err != nil {
			return err
		}
	}
	go func() {
		if time.Now().Before(at) {
			if !sleepUntil(ctx, at) {
				return
			}
			inj.SetPartition(f.Partition) // validated above
		}
		if f.HealAt > 0 && sleepUntil(ctx, start.Add(f.HealAt)) {
			inj.Heal()
		}
	}()
	return nil
}

// sleepUntil waits until t or until ctx is done, and reports whether t came.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
