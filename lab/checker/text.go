package checker

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the report as a readable table: the input summary, one row
// per property with its offending lines, the figures and the final views,
// then the verdict.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("roster check: %s, %d lines (%d view lines, %d ignored)\n", plural(len(r.Sources), "source"), r.Lines, r.ViewLines, r.Ignored)
	left := ""
	if len(r.Left) > 0 {
		left = fmt.Sprintf(", left %s", fmtList(r.Left))
	}
	ew.printf("peers: started %s, crashed %s%s, survivors %s\n", fmtList(r.Started), fmtList(r.Crashed), left, fmtList(r.Survivors))
	for _, e := range r.Engine {
		ew.printf("engine: %s\n", e)
	}
	ew.printf("\n")

	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROPERTY\tVERDICT\tDETAIL")
	for _, p := range r.Properties {
		v := string(p.Verdict)
		if p.Verdict == Violated {
			v = "VIOLATED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, v, p.Detail)
	}
	tw.Flush()
	for _, p := range r.Properties {
		if len(p.Lines) == 0 {
			continue
		}
		ew.printf("\n%s, offending lines:\n", p.Name)
		for _, q := range p.Lines {
			ew.printf("  %s\n", q)
		}
	}

	r.writeFigures(ew)
	r.Groups.writeText(ew)

	if len(r.Final) > 0 {
		ew.printf("\nfinal views:\n")
		for _, f := range r.Final {
			state := ""
			if f.Crashed {
				state = "  (" + f.State + ")"
			}
			if f.Lives > 1 {
				state += fmt.Sprintf("  (%d lives)", f.Lives)
			}
			ew.printf("  peer %d: view %d, leader %d, members %s%s\n", f.Peer, f.ViewID, f.Leader, fmtList(f.Members), state)
		}
	}
	for _, warn := range r.Warnings {
		ew.printf("warning: %s\n", warn)
	}
	switch r.Status() {
	case 0:
		ew.printf("\nverdict: PASS (every property held or was not applicable)\n")
	case 1:
		ew.printf("\nverdict: FAIL (violated: %s)\n", strings.Join(r.Violated(), ", "))
	default:
		ew.printf("\nverdict: CANNOT JUDGE (no view or group lines in the input)\n")
	}
	return ew.err
}

func (r *Report) writeFigures(ew *errWriter) {
	if !r.Figures.Available {
		ew.printf("\nfigures: %s\n", r.Figures.Join.Note)
		return
	}
	ew.printf("\nfigures (from timestamps):\n")
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  FIGURE\tN\tMIN\tMEDIAN\tMAX\tEACH")
	for _, f := range []*Figure{&r.Figures.Join, &r.Figures.CrashRemoval, &r.Figures.Failover} {
		min, med, max, ok := f.Summary()
		if !ok {
			fmt.Fprintf(tw, "  %s\t0\t-\t-\t-\t%s\n", f.Name, f.Note)
			continue
		}
		var each []string
		for i, l := range f.Latencies {
			if i == maxEach {
				each = append(each, fmt.Sprintf("(%d more)", len(f.Latencies)-maxEach))
				break
			}
			each = append(each, fmt.Sprintf("%d:%s", l.Peer, fmtDur(l.D)))
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\n", f.Name, len(f.Latencies), fmtDur(min), fmtDur(med), fmtDur(max), strings.Join(each, " "))
	}
	tw.Flush()
	for _, f := range []*Figure{&r.Figures.Join, &r.Figures.CrashRemoval, &r.Figures.Failover} {
		for _, m := range f.Missing {
			ew.printf("  %s: %s\n", f.Name, m)
		}
	}
}

// maxEach bounds the latencies listed one by one in the text table.
const maxEach = 12

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// fmtDur prints a latency in ms below a second and in seconds above.
func fmtDur(d time.Duration) string {
	if d < time.Second && d > -time.Second {
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// errWriter remembers the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, a ...any) { fmt.Fprintf(e, format, a...) }
