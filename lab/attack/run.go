package attack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"text/tabwriter"

	"roster/lab/checker"
	"roster/peer/secure"
	"roster/peer/viewlog"
)

// DefaultRSSLimitMB is the resident set no peer may pass during a probe.
// An idle peer holds about 25 MB; the bounds on the network (1 MiB a Raft
// request, 1 MiB a gossip stream, connection caps) keep it well under.
const DefaultRSSLimitMB = 150

// Modes: an open cluster (no key) and an encrypted one (a key).
const (
	Open      = "open"
	Encrypted = "encrypted"
)

// Options configure a run of the suite.
type Options struct {
	// Bin is the roster binary to attack.
	Bin string
	// Modes lists the modes to run (Open, Encrypted).
	Modes []string
	// Probes names the probes to run (all when empty).
	Probes []string
	// RSSLimitMB is the bound of every peer's resident set.
	RSSLimitMB int
	// Dir holds the runs' files (a temporary directory when "").
	Dir string
	// Progress, if set, receives a line per probe as it ends.
	Progress io.Writer
	// Output, if set, receives every line the peers printed, after each probe.
	Output io.Writer
}

// Result is the outcome of one probe in one mode. Plain data.
type Result struct {
	Probe  string `json:"probe"`
	Mode   string `json:"mode"`
	Attack string `json:"attack"`
	// Outcome says what the attack achieved.
	Outcome string `json:"outcome"`
	// MaxRSSMB is the largest resident set of any peer during the probe.
	MaxRSSMB int64 `json:"max_rss_mb"`
	// Dead lists peers that died.
	Dead []string `json:"dead,omitempty"`
	// Checker is the checker's verdict on agreement, order, validity and
	// view ids without gaps, over every view line printed.
	Checker string `json:"checker"`
	// Asserted is false when the mode does not claim to stop the probe.
	Asserted bool `json:"asserted"`
	// Pass: the peers withstood the probe (always true when not asserted).
	Pass bool   `json:"pass"`
	Note string `json:"note,omitempty"`
}

// Report is a run of the suite.
type Report struct {
	Bin        string   `json:"bin"`
	RSSLimitMB int      `json:"rss_limit_mb"`
	Results    []Result `json:"results"`
	Pass       bool     `json:"pass"`
}

// Names lists the probes, in order.
func Names() []string {
	var out []string
	for _, p := range probes {
		out = append(out, p.name)
	}
	return out
}

// Run runs the suite. It returns an error only when it could not run (a
// cluster that would not start); what the probes found is in the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.RSSLimitMB == 0 {
		o.RSSLimitMB = DefaultRSSLimitMB
	}
	for _, name := range o.Probes {
		if !slices.Contains(Names(), name) {
			return nil, fmt.Errorf("no probe %q (probes: %s)", name, strings.Join(Names(), ", "))
		}
	}
	help, _ := exec.Command(o.Bin, "--help").CombinedOutput()
	if slices.Contains(o.Modes, Encrypted) && !strings.Contains(string(help), "--encrypt") {
		return nil, fmt.Errorf("%s has no --encrypt: run it with --mode open", o.Bin)
	}
	dir := o.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "roster-attack-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	rep := &Report{Bin: o.Bin, RSSLimitMB: o.RSSLimitMB, Pass: true}
	for _, mode := range o.Modes {
		for _, p := range probes {
			if len(o.Probes) > 0 && !slices.Contains(o.Probes, p.name) {
				continue
			}
			if p.keyOnly && mode != Encrypted {
				continue
			}
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			r, err := runProbe(ctx, o, dir, mode, p, string(help))
			if err != nil {
				return rep, fmt.Errorf("%s (%s): %w", p.name, mode, err)
			}
			rep.Results = append(rep.Results, r)
			rep.Pass = rep.Pass && r.Pass
			if o.Progress != nil {
				fmt.Fprintf(o.Progress, "%-22s %-9s %s  %s\n", r.Probe, r.Mode, verdict(r), r.Outcome)
			}
		}
	}
	return rep, nil
}

func runProbe(ctx context.Context, o Options, root, mode string, p probe, help string) (Result, error) {
	dir, err := os.MkdirTemp(root, p.name+"-")
	if err != nil {
		return Result{}, err
	}
	key := ""
	if mode == Encrypted {
		if key, err = secure.GenerateKey(); err != nil {
			return Result{}, err
		}
	}
	extra := p.extra
	if slices.Contains(extra, "--faults") && strings.Contains(help, "--api-token") {
		extra = append(extra, "--api-token", "attack-lab-token-0123456789") // at least 16 characters
	}
	c, err := newCluster(o.Bin, dir, key, extra)
	if err != nil {
		return Result{}, err
	}
	defer c.close()
	if err := c.boot(ctx); err != nil {
		return Result{}, fmt.Errorf("cluster did not start: %w\n%s", err, strings.Join(c.output(), "\n"))
	}
	e := &env{c: c, killed: map[int]bool{}}
	outcome := p.run(ctx, e)
	r := Result{Probe: p.name, Mode: mode, Attack: p.attack, Outcome: outcome, Asserted: true}
	r.Dead = c.dead(e.killed)
	rss, _ := c.maxRSS()
	r.MaxRSSMB = rss >> 10
	r.Checker = judge(c, e.killed)
	if o.Output != nil {
		fmt.Fprintf(o.Output, "--- %s (%s)\n%s\n", p.name, mode, strings.Join(c.output(), "\n"))
	}
	switch {
	case p.needsKey && mode == Open:
		r.Asserted = false
		r.Note = "open cluster: anyone who can send from a peer's address is that peer"
	case p.name == "fault-api" && !strings.Contains(help, "--api-token"):
		r.Asserted = false
		r.Note = "this binary has no --api-token (the API half of issue 9)"
	}
	r.Pass = !e.failed && len(r.Dead) == 0 && r.MaxRSSMB <= int64(o.RSSLimitMB) && r.Checker == "held"
	if !r.Asserted {
		r.Pass = true
	}
	return r, nil
}

// judge runs the checker's agreement, order and validity over every view
// line the peers printed, and checks that view ids have no gap.
func judge(c *cluster, killed map[int]bool) string {
	var b strings.Builder
	seen := map[int]bool{}
	var maxID int
	for _, l := range c.output() {
		if strings.HasPrefix(l, "rogue | ") {
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
		_, line, _ := strings.Cut(l, " | ")
		if rec, ok := viewlog.Parse(line); ok && rec.Kind == viewlog.KindView {
			seen[rec.ViewID] = true
			maxID = max(maxID, rec.ViewID)
		}
	}
	hosts := map[string]int{}
	for i, n := range names {
		hosts[n] = i + 1
	}
	opts := checker.Options{Hostsfile: hosts}
	for id := range killed {
		if id <= len(names) {
			opts.Killed = append(opts.Killed, id)
		}
	}
	run, err := checker.Read([]checker.Source{{Name: "peers", R: strings.NewReader(b.String())}}, opts)
	if err != nil {
		return "cannot judge: " + err.Error()
	}
	rep := checker.Check(run, opts)
	var bad []string
	for _, p := range rep.Properties {
		switch p.Name {
		case checker.Agreement, checker.Order, checker.Validity:
			if p.Verdict == checker.Violated {
				bad = append(bad, p.Name+" violated: "+p.Detail)
			}
		}
	}
	for id := 1; id <= maxID; id++ {
		if !seen[id] {
			bad = append(bad, fmt.Sprintf("view %d printed by no peer", id))
			break
		}
	}
	if len(bad) > 0 {
		return strings.Join(bad, "; ")
	}
	return "held"
}

func verdict(r Result) string {
	switch {
	case !r.Asserted:
		return "n/a "
	case r.Pass:
		return "pass"
	}
	return "FAIL"
}

// WriteTable prints the report as a table: probe, mode, outcome, RSS,
// checker, verdict.
func WriteTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "PROBE\tMODE\tVERDICT\tMAX RSS\tVIEWS\tOUTCOME\n")
	for _, r := range rep.Results {
		out := r.Outcome
		if len(r.Dead) > 0 {
			out = "DIED: " + strings.Join(r.Dead, ", ") + "; " + out
		}
		if r.Note != "" {
			out += " (" + r.Note + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d MB\t%s\t%s\n", r.Probe, r.Mode, verdict(r), r.MaxRSSMB, r.Checker, out)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	v := "every asserted probe passed"
	if !rep.Pass {
		v = "some probe FAILED"
	}
	_, err := fmt.Fprintf(w, "%s (RSS bound %d MB; binary %s)\n", v, rep.RSSLimitMB, rep.Bin)
	return err
}

// ErrFailed is returned by callers when a report did not pass.
var ErrFailed = errors.New("a probe failed")
