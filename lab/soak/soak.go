package soak

import (
	"roster/lab/stats"

	"roster/lab/runner"

	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"roster/lab/checker"
)

// DefaultDuration is the length of one soak run.
const DefaultDuration = 30 * time.Second

// Config is what `roster lab soak` was asked to do. A plain value.
type Config struct {
	// Runs is the number of runs.
	Runs int
	// Seed is the seed of the first run; run i has seed Seed+i, so
	// `--runs 1 --seed S` replays the run with seed S.
	Seed uint64
	// Duration is the length of each run (DefaultDuration when 0).
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

// Summary is what a soak found, over all its runs. Plain data.
type Summary struct {
	// Planned is the number of runs asked for; Runs the number made.
	Planned   int           `json:"planned"`
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
	Failed []Failure `json:"failed"`
	// CrashRemoval summarises the crash-to-removal latencies of all runs.
	CrashRemoval []time.Duration `json:"-"`
	CrashStats   *checker.Stats  `json:"crash_to_removal,omitempty"`
}

// Failure is one run that did not pass.
type Failure struct {
	Seed     uint64   `json:"seed"`
	Violated []string `json:"violated,omitempty"`
	Problem  string   `json:"problem,omitempty"`
	Schedule string   `json:"schedule"`
	Log      string   `json:"log,omitempty"`
}

// Soak is `roster lab soak`: it runs cfg.Runs random fault schedules one
// after the other until ctx is done, judges each with the checker, and
// writes a line per run (and, with cfg.Verbose, its steps and table) to
// progress. It returns what it found; the error is an *runner.InputError for
// bad input (nothing was run). The summary's Passed says whether every run
// passed.
func Soak(ctx context.Context, cfg Config, progress io.Writer) (*Summary, error) {
	if cfg.Runs < 1 {
		return nil, &runner.InputError{Msg: fmt.Sprintf("--runs %d: want at least 1", cfg.Runs)}
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.Duration < MinDuration {
		return nil, &runner.InputError{Msg: fmt.Sprintf("--duration %v: want at least %v (warm-up, one fault, time to settle)", cfg.Duration, MinDuration)}
	}
	if _, err := runner.RosterBinary(cfg.Roster); err != nil {
		return nil, err
	}
	sum := &Summary{Planned: cfg.Runs, FirstSeed: cfg.Seed, Duration: cfg.Duration.String(), Properties: map[string]map[checker.Verdict]int{}, Offences: map[string]int{}}
	for _, p := range propertyNames {
		sum.Properties[p] = map[checker.Verdict]int{}
	}
	t0 := time.Now()
	for i := 0; i < cfg.Runs && ctx.Err() == nil; i++ {
		plan := NewPlan(cfg.Seed+uint64(i), cfg.Duration)
		fmt.Fprintf(progress, "run %d/%d seed %d: %s\n", i+1, cfg.Runs, plan.Seed, plan)
		r := RunPlan(ctx, plan, runner.Options{Roster: cfg.Roster})
		if r.Err != nil && ctx.Err() != nil {
			break // interrupted: this run does not count
		}
		sum.Runs++
		logPath := ""
		if cfg.LogDir != "" && r.Log != nil {
			var err error
			if logPath, err = writeLog(cfg.LogDir, r); err != nil {
				fmt.Fprintf(progress, "  --logs: %v\n", err)
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
		sum.CrashStats = summary(sum.CrashRemoval)
	}
	return sum, nil
}

// Passed reports whether at least one run was made and every run passed.
func (s *Summary) Passed() bool { return len(s.Failed) == 0 && s.Runs > 0 }

// add counts one run and returns its one-line verdict.
func (s *Summary) add(r *Run, logPath string) string {
	fail := Failure{Seed: r.Plan.Seed, Schedule: r.Plan.String(), Log: logPath}
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
func (s *Summary) WriteText(w io.Writer) error {
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

// RandomSeed returns a seed for a soak that was given none.
func RandomSeed() uint64 { return rand.Uint64N(1 << 40) }

// summary returns the stats of ds, nil when there are none.
func summary(ds []time.Duration) *stats.Summary {
	if len(ds) == 0 {
		return nil
	}
	s := stats.Of(ds)
	return &s
}
