package nemesis

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"roster/lab/fault"
)

// Kind is what an action does.
type Kind int

// The actions of a schedule.
const (
	// Partition installs Action.Sides on every peer.
	Partition Kind = iota + 1
	// Heal removes the partition of every peer.
	Heal
	// Pause makes Action.Peers[0] drop all traffic for Action.For.
	Pause
	// Resume ends the pause of Action.Peers[0].
	Resume
	// Loss sets the loss of every link of Action.Peers (all when empty).
	Loss
	// Delay sets the delay ± jitter of every link of Action.Peers.
	Delay
	// Clear removes every fault of Action.Peers.
	Clear
	// Kill kills the process of Action.Peers[0] (needs Runner.Procs).
	Kill
	// Start starts the process of Action.Peers[0] again (needs Runner.Procs).
	Start
	// CutClient makes the owner of client Action.Client of group
	// Action.Group unable to reach it (its checks fail); other peers still
	// can.
	CutClient
	// HealClient removes the cuts of client Action.Client of Action.Group
	// from every peer.
	HealClient
)

var kindNames = map[Kind]string{
	Partition: "partition", Heal: "heal", Pause: "pause", Resume: "resume",
	Loss: "loss", Delay: "delay", Clear: "clear", Kill: "kill", Start: "start",
	CutClient: "cut-client", HealClient: "heal-client",
}

// String returns the action's word in the schedule syntax.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Action is one fault to apply. Peers are named by hostsfile name, decimal
// id or "leader" (see Peers.Resolve). A plain value.
type Action struct {
	Kind Kind
	// Sides are the sides of a Partition, as peer names or ids.
	Sides [][]string
	// Peers are the peers the action applies to: exactly one for Pause,
	// Resume, Kill and Start; for Loss, Delay and Clear none means every peer.
	Peers []string
	// For is how long a Pause lasts.
	For time.Duration
	// Loss is the share of traffic a Loss action drops, in [0, 1].
	Loss float64
	// Delay and Jitter are a Delay action's delay ± jitter.
	Delay, Jitter time.Duration
	// Group and Client name the client of CutClient and HealClient.
	Group, Client string
}

// Step is an action at a time counted from the start of the schedule.
type Step struct {
	At time.Duration
	Action
}

// String writes the step in the syntax ParseSchedule reads:
// "--at 15s partition 1,2/3,4,5".
func (s Step) String() string {
	return "--at " + s.At.String() + " " + s.Action.String()
}

// String writes the action in the schedule syntax ("pause one 10s").
func (a Action) String() string {
	w := []string{a.Kind.String()}
	switch a.Kind {
	case Partition:
		var sides []string
		for _, s := range a.Sides {
			sides = append(sides, strings.Join(s, ","))
		}
		w = append(w, strings.Join(sides, "/"))
	case Pause:
		w = append(w, strings.Join(a.Peers, ","), a.For.String())
	case Resume, Kill, Start:
		w = append(w, strings.Join(a.Peers, ","))
	case CutClient, HealClient:
		w = append(w, a.Group, a.Client)
	case Loss:
		w = append(w, strconv.FormatFloat(a.Loss, 'g', -1, 64))
	case Delay:
		d := a.Delay.String()
		if a.Jitter > 0 {
			d += "+-" + a.Jitter.String()
		}
		w = append(w, d)
	}
	if (a.Kind == Loss || a.Kind == Delay || a.Kind == Clear) && len(a.Peers) > 0 {
		w = append(w, strings.Join(a.Peers, ","))
	}
	return strings.Join(w, " ")
}

// FormatSchedule writes steps in the syntax ParseSchedule reads, one
// argument string (shell quoting is not needed: no step has spaces inside
// an argument).
func FormatSchedule(steps []Step) string {
	var parts []string
	for _, s := range steps {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, " ")
}

// ParseSchedule reads steps from arguments: "--at T ACTION ARGS..."
// repeated (also "--at=T"). It returns the steps sorted by time (stable), or
// an error naming the step and what is wrong with it.
func ParseSchedule(args []string) ([]Step, error) {
	var steps []Step
	for i := 0; i < len(args); {
		a := args[i]
		var at string
		switch {
		case a == "--at" || a == "-at":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("--at at the end: want --at TIME ACTION, like --at 15s heal")
			}
			at, i = args[i+1], i+2
		case strings.HasPrefix(a, "--at="):
			at, i = strings.TrimPrefix(a, "--at="), i+1
		default:
			return nil, fmt.Errorf("%q: a step starts with --at TIME, like --at 15s heal", a)
		}
		t, err := parseTime(at)
		if err != nil {
			return nil, fmt.Errorf("--at %q: %w", at, err)
		}
		j := i
		for j < len(args) && args[j] != "--at" && args[j] != "-at" && !strings.HasPrefix(args[j], "--at=") {
			j++
		}
		act, err := ParseAction(args[i:j])
		if err != nil {
			return nil, fmt.Errorf("--at %s: %w", at, err)
		}
		steps = append(steps, Step{At: t, Action: act})
		i = j
	}
	slices.SortStableFunc(steps, func(a, b Step) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	return steps, nil
}

// parseTime reads a step time: a Go duration or a number of seconds.
func parseTime(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != f || f > 1e9 {
			return 0, fmt.Errorf("want a time like 15s or 1m30s")
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return d, nil
}

// ParseAction reads one action: its word and arguments, like
// ["pause", "one", "10s"].
func ParseAction(w []string) (Action, error) {
	if len(w) == 0 {
		return Action{}, fmt.Errorf("no action: want partition, heal, pause, resume, loss, delay, clear, kill, start, cut-client or heal-client")
	}
	word, args := w[0], w[1:]
	var a Action
	for k, name := range kindNames {
		if name == word {
			a.Kind = k
		}
	}
	nargs := func(min, max int, usage string) error {
		if len(args) < min || len(args) > max {
			return fmt.Errorf("%s: want %s", word, usage)
		}
		return nil
	}
	switch a.Kind {
	case Partition:
		if err := nargs(1, 1, "partition SIDES, like partition 1,2/3,4,5"); err != nil {
			return a, err
		}
		sides, err := parseSides(args[0])
		if err != nil {
			return a, fmt.Errorf("partition %q: %w", args[0], err)
		}
		a.Sides = sides
	case Heal:
		if err := nargs(0, 0, "no arguments"); err != nil {
			return a, err
		}
	case Pause:
		if err := nargs(2, 2, "pause PEER DURATION, like pause one 10s"); err != nil {
			return a, err
		}
		if err := onePeer(word, args[0]); err != nil {
			return a, err
		}
		d, err := time.ParseDuration(args[1])
		if err != nil || d <= 0 {
			return a, fmt.Errorf("pause %s %q: want a positive duration like 10s", args[0], args[1])
		}
		a.Peers, a.For = []string{args[0]}, d
	case Resume, Kill, Start:
		if err := nargs(1, 1, word+" PEER, like "+word+" one"); err != nil {
			return a, err
		}
		if err := onePeer(word, args[0]); err != nil {
			return a, err
		}
		a.Peers = []string{args[0]}
	case Loss:
		if err := nargs(1, 2, "loss SHARE [PEERS], like loss 10% or loss 0.2 two,three"); err != nil {
			return a, err
		}
		p, err := fault.ParseLoss(args[0])
		if err != nil {
			return a, fmt.Errorf("loss: %v", strings.TrimPrefix(err.Error(), "--loss "))
		}
		a.Loss = p
		args = args[1:]
	case Delay:
		if err := nargs(1, 2, "delay D[±J] [PEERS], like delay 50ms±20ms"); err != nil {
			return a, err
		}
		if args[0] == "0" {
			args[0] = "0s"
		}
		d, j, err := fault.ParseDelay(args[0])
		if err != nil {
			return a, fmt.Errorf("delay: %v", strings.TrimPrefix(err.Error(), "--latency "))
		}
		a.Delay, a.Jitter = d, j
		args = args[1:]
	case Clear:
		if err := nargs(0, 1, "clear [PEERS], like clear or clear two,three"); err != nil {
			return a, err
		}
	case CutClient, HealClient:
		if err := nargs(2, 2, word+" GROUP CLIENT, like "+word+" jobs c3"); err != nil {
			return a, err
		}
		if args[0] == "" || args[1] == "" {
			return a, fmt.Errorf("%s: want a group and a client id", word)
		}
		a.Group, a.Client = args[0], args[1]
	default:
		return a, fmt.Errorf("%q is not an action: want partition, heal, pause, resume, loss, delay, clear, kill, start, cut-client or heal-client", word)
	}
	if a.Kind == Loss || a.Kind == Delay || a.Kind == Clear {
		if len(args) == 1 {
			peers, err := parseList(args[0])
			if err != nil {
				return a, fmt.Errorf("%s: peers %q: %w", word, args[0], err)
			}
			a.Peers = peers
		}
	}
	return a, nil
}

// onePeer checks a single peer reference.
func onePeer(word, ref string) error {
	if strings.ContainsAny(ref, ",|/") || ref == "" {
		return fmt.Errorf("%s %q: want one peer: a name, an id or leader", word, ref)
	}
	return nil
}

// parseList reads "one,two,3": peer names or ids, no repeats.
func parseList(s string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if slices.Contains(out, f) {
			return nil, fmt.Errorf("%q twice", f)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no peers")
	}
	return out, nil
}

// parseSides reads "1,2/3,4,5" or "one,two|three,four,five".
func parseSides(s string) ([][]string, error) {
	sep := "|"
	if !strings.Contains(s, sep) {
		sep = "/"
	}
	var sides [][]string
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, sep) {
		side, err := parseList(part)
		if err != nil {
			return nil, fmt.Errorf("side %d: %w", len(sides)+1, err)
		}
		for _, p := range side {
			if p == "leader" {
				return nil, fmt.Errorf("name the peers of a partition, not leader")
			}
			if seen[p] {
				return nil, fmt.Errorf("peer %s is on two sides", p)
			}
			seen[p] = true
		}
		sides = append(sides, side)
	}
	if len(sides) < 2 {
		return nil, fmt.Errorf("want at least two sides, like 1,2/3,4,5")
	}
	return sides, nil
}
