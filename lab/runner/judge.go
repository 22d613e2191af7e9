package runner

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"roster/lab/checker"
)

// Verdict is the checker's judgement of a run, with the parsed run kept for
// reports. Safe for concurrent reads.
type Verdict struct {
	Run    *checker.Run
	Report *checker.Report
}

// Status is the checker's exit status: 0 every property held, 1 one was
// violated, 2 the log gives nothing to judge.
func (v *Verdict) Status() int { return v.Report.Status() }

// CheckerOptions returns the checker options that describe the run: the
// hostsfile's names and ids, and the peers and clients killed from outside.
func (r *Result) CheckerOptions() checker.Options {
	return checker.Options{Hostsfile: r.Hostsfile, Killed: r.Killed(), Clients: checker.GroupOptions{Killed: r.KilledClients()}}
}

// IDs turns peer names or decimal ids into ids, by the run's hostsfile.
func (r *Result) IDs(names []string) ([]int, error) {
	var ids []int
	for _, n := range names {
		if id, err := strconv.Atoi(n); err == nil {
			ids = append(ids, id)
			continue
		}
		id, ok := r.Hostsfile[n]
		if !ok {
			return nil, fmt.Errorf("peer %q is not in the hostsfile", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Judge feeds the run's collected log to the checker. extra adds options a
// caller knows about (removals a scenario expects, the clients' deadline);
// its Hostsfile and Killed lists are merged with the run's. Safe for concurrent use.
func Judge(res *Result, extra checker.Options) (*Verdict, error) {
	opts := res.CheckerOptions()
	opts.Killed = append(opts.Killed, extra.Killed...)
	opts.ExpectRemovals = extra.ExpectRemovals
	opts.Clients.Killed = append(opts.Clients.Killed, extra.Clients.Killed...)
	opts.Clients.ExpectRemovals = extra.Clients.ExpectRemovals
	opts.Clients.Joined = extra.Clients.Joined
	opts.Clients.Deadline = extra.Clients.Deadline
	for name, id := range extra.Hostsfile {
		if _, ok := opts.Hostsfile[name]; !ok {
			if opts.Hostsfile == nil {
				opts.Hostsfile = map[string]int{}
			}
			opts.Hostsfile[name] = id
		}
	}
	run, err := checker.Read([]checker.Source{{Name: "lab", R: bytes.NewReader(res.Log)}}, opts)
	if err != nil {
		return nil, fmt.Errorf("checker: %w", err)
	}
	return &Verdict{Run: run, Report: checker.Check(run, opts)}, nil
}

// WriteHTML writes the checker's HTML report of the run to w.
func (v *Verdict) WriteHTML(w io.Writer) error {
	return checker.WriteHTML(w, v.Run, v.Report)
}
