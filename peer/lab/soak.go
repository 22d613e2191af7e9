package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"roster/peer/checker"
)

// DefaultSoakDuration is the length of one soak run.
const DefaultSoakDuration = 30 * time.Second

// SoakConfig is what `roster lab soak` was asked to do. A plain value.
type SoakConfig struct {
	// Runs is the number of runs.
	Runs int
	// Seed is the seed of the first run; run i has seed Seed+i, so
	// `--runs 1 --seed S` replays the run with seed S.
	Seed uint64
	// Duration is the length of each run (DefaultSoakDuration when 0).
	Duration time.Duration
	// JSON prints the summary as JSON on stdout.
	JSON bool
	// LogDir, when set, receives every run's judged log (soak-SEED.log).
	LogDir string
	// Verbose prints each run's steps and checker table.
	Verbose bool
	// Roster is the roster binary ("" for this executable).
	Roster string
}

// propertyNames are the checker's properties, in its order.
var propertyNames = []string{checker.Agreement, checker.Order, checker.Validity, checker.Completeness, checker.Accuracy, checker.Convergence}

// SoakSummary is what a soak found, over all its runs. Plain data.
type SoakSummary struct {
	Runs      int           `json:"runs"`
	FirstSeed uint64        `json:"first_seed"`
	Duration  string        `json:"run_duration"`
	Took      time.Duration `json:"-"`
	TookS     float64       `json:"took_s"`
	// Properties counts, per property, the runs where it held, was
	// violated, or was not applicable.
	Properties map[string]map[checker.Verdict]int `json:"properties"`
	// Offences counts the offences per property over all runs (a run may
	// wrongly remove two peers: two accuracy offences).
	Offences map[string]int `json:"offences"`
	// PeerFailures counts runs where a peer exited unexpectedly.
	PeerFailures int `json:"peer_failures"`
	// Errors counts runs that could not be carried out or judged.
	Errors int `json:"errors"`
	// Failed lists the runs with a violation, a peer failure or an error.
	Failed []SoakFailure `json:"failed"`
	// CrashRemoval summarises the crash-to-removal latencies of all runs.
	CrashRemoval []time.Duration `json:"-"`
	CrashStats   *checker.Stats  `json:"crash_to_removal,omitempty"`
}

// SoakFailure is one run that did not pass.
type SoakFailure struct {
	Seed     uint64   `json:"seed"`
	Violated []string `json:"violated,omitempty"`
	Problem  string   `json:"problem,omitempty"`
	Schedule string   `json:"schedule"`
	Log      string   `json:"log,omitempty"`
}

// Soak is `roster lab soak`: it runs cfg.Runs random fault schedules one
// after the other, judges each with the checker, prints a line per run and
// a table of the properties, and returns the exit status: 0 every run
// passed, 1 some run violated a property or failed, 2 bad input. SIGINT or
// SIGTERM stops after the current run and prints what was found so far.
func Soak(ctx context.Context, cfg SoakConfig, stdout, stderr io.Writer) int {
	if cfg.Runs < 1 {
		fmt.Fprintf(stderr, "roster lab soak: --runs %d: want at least 1\n", cfg.Runs)
		return upUsage
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultSoakDuration
	}
	if cfg.Duration < MinSoakDuration {
		fmt.Fprintf(stderr, "roster lab soak: --duration %v: want at least %v (warm-up, one fault, time to settle)\n", cfg.Duration, MinSoakDuration)
		return upUsage
	}
	if _, err := rosterBinary(cfg.Roster); err != nil {
		fmt.Fprintf(stderr, "roster lab soak: %v\n", err)
		return upUsage
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	progress := stdout
	if cfg.JSON {
		progress = stderr
	}
	sum := &SoakSummary{FirstSeed: cfg.Seed, Duration: cfg.Duration.String(), Properties: map[string]map[checker.Verdict]int{}, Offences: map[string]int{}}
	for _, p := range propertyNames {
		sum.Properties[p] = map[checker.Verdict]int{}
	}
	t0 := time.Now()
	for i := 0; i < cfg.Runs && ctx.Err() == nil; i++ {
		plan := NewSoakPlan(cfg.Seed+uint64(i), cfg.Duration)
		fmt.Fprintf(progress, "run %d/%d seed %d: %s\n", i+1, cfg.Runs, plan.Seed, plan)
		r := RunSoakPlan(ctx, plan, Options{Roster: cfg.Roster})
		if r.Err != nil && ctx.Err() != nil {
			break // interrupted: this run does not count
		}
		sum.Runs++
		logPath := ""
		if cfg.LogDir != "" && r.Log != nil {
			var err error
			if logPath, err = writeSoakLog(cfg.LogDir, r); err != nil {
				fmt.Fprintf(stderr, "roster lab soak: --logs: %v\n", err)
			}
		}
		if cfg.Verbose {
			for _, s := range r.Steps {
				fmt.Fprintf(progress, "  %s\n", s)
			}
		}
		fmt.Fprintf(progress, "  %s\n", sum.add(r, logPath))
		if cfg.Verbose && r.Verdict != nil {
			r.Verdict.Report.WriteText(progress)
		}
	}
	sum.Took = time.Since(t0)
	sum.TookS = sum.Took.Seconds()
	if len(sum.CrashRemoval) > 0 {
		sum.CrashStats = stats(sum.CrashRemoval)
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(sum)
	} else {
		sum.WriteText(stdout)
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "lab soak: interrupted after %d of %d runs\n", sum.Runs, cfg.Runs)
	}
	if len(sum.Failed) > 0 || sum.Runs == 0 {
		return upFailure
	}
	return upOK
}

// add counts one run and returns its one-line verdict.
func (s *SoakSummary) add(r *SoakRun, logPath string) string {
	fail := SoakFailure{Seed: r.Plan.Seed, Schedule: r.Plan.String(), Log: logPath}
	var line string
	switch {
	case r.Err != nil:
		s.Errors++
		fail.Problem = r.Err.Error()
		line = "ERROR: " + fail.Problem
	default:
		rep := r.Verdict.Report
		for _, p := range rep.Properties {
			s.Properties[p.Name][p.Verdict]++
			s.Offences[p.Name] += p.Count
		}
		for _, l := range rep.Figures.CrashRemoval.Latencies {
			s.CrashRemoval = append(s.CrashRemoval, l.D)
		}
		fail.Violated = r.Violated()
		line = fmt.Sprintf("%s (%d views, %d removals)", rep.Verdict, rep.ViewLines, len(rep.Removals))
		if len(fail.Violated) > 0 {
			var details []string
			for _, p := range rep.Properties {
				if p.Verdict == checker.Violated {
					details = append(details, p.Name+": "+p.Detail)
				}
			}
			line = "FAIL " + strings.Join(details, "; ")
		}
	}
	if len(r.Failures) > 0 {
		s.PeerFailures++
		fail.Problem = strings.Join(append([]string{fail.Problem}, r.Failures...), "; ")
		fail.Problem = strings.TrimPrefix(fail.Problem, "; ")
		line += " [" + strings.Join(r.Failures, "; ") + "]"
	}
	if r.Err != nil || len(fail.Violated) > 0 || len(r.Failures) > 0 {
		s.Failed = append(s.Failed, fail)
		line += fmt.Sprintf(" -- replay: roster lab soak --runs 1 --seed %d --duration %v", r.Plan.Seed, r.Plan.Duration)
	}
	if logPath != "" {
		line += " (log " + logPath + ")"
	}
	return line
}

// WriteText prints the summary: the property table, the failed runs with
// their seeds, the latencies, and the time taken.
func (s *SoakSummary) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "\nsoak: %d runs of %s from seed %d, took %v", s.Runs, s.Duration, s.FirstSeed, s.Took.Round(time.Second))
	if s.Runs > 0 {
		per := s.Took / time.Duration(s.Runs)
		fmt.Fprintf(w, " (%.1f s a run; 100 runs: about %v)", per.Seconds(), (100 * per).Round(time.Minute))
	}
	fmt.Fprintf(w, "\n\n%-13s %6s %9s %15s %9s\n", "PROPERTY", "HELD", "VIOLATED", "NOT APPLICABLE", "OFFENCES")
	for _, p := range propertyNames {
		c := s.Properties[p]
		fmt.Fprintf(w, "%-13s %6d %9d %15d %9d\n", p, c[checker.Held], c[checker.Violated], c[checker.NotApplicable], s.Offences[p])
	}
	fmt.Fprintf(w, "\nunexpected peer exits: %d runs; runs not judged: %d\n", s.PeerFailures, s.Errors)
	if s.CrashStats != nil {
		fmt.Fprintf(w, "crash to removal at every survivor (kills, all runs): n=%d min %.0f ms, median %.0f ms, max %.0f ms\n",
			s.CrashStats.N, s.CrashStats.MinMs, s.CrashStats.MedianMs, s.CrashStats.MaxMs)
	}
	if len(s.Failed) == 0 {
		_, err := fmt.Fprintf(w, "every run passed\n")
		return err
	}
	fmt.Fprintf(w, "\n%d runs did not pass; replay one with roster lab soak --runs 1 --seed SEED --duration %s:\n", len(s.Failed), s.Duration)
	for _, f := range s.Failed {
		what := strings.Join(f.Violated, ", ")
		if f.Problem != "" {
			what = strings.TrimPrefix(what+"; "+f.Problem, "; ")
		}
		fmt.Fprintf(w, "  seed %d: %s\n    schedule: %s\n", f.Seed, what, f.Schedule)
		if f.Log != "" {
			fmt.Fprintf(w, "    log: %s\n", f.Log)
		}
	}
	return nil
}

// stats summarises durations like the checker does.
func stats(ds []time.Duration) *checker.Stats {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return &checker.Stats{N: n, MinMs: ms(s[0]), MedianMs: ms(med), MaxMs: ms(s[n-1])}
}

// RandomSeed returns a seed for a soak that was given none.
func RandomSeed() uint64 { return rand.Uint64N(1 << 40) }
