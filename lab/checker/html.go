package checker

import (
	"fmt"
	"io"
	"strings"
)

// pageStyle is the page's whole stylesheet: no fonts or scripts are fetched.
const pageStyle = `
body { font-family: system-ui, "DejaVu Sans", Arial, sans-serif; margin: 24px; color: #1a1a1a; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 26px 0 8px; }
.meta { color: #555; margin: 2px 0; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 4px; color: #fff; font-weight: bold; }
.pass, .held { background: #1e7e34; }
.fail, .violated { background: #c62828; }
.cannot, .na { background: #777; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #ddd; padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: #f0f2f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { margin: 4px 0 0; font-size: 12px; color: #7a1010; white-space: pre-wrap; }
.legend span { margin-right: 18px; }
.diagram { overflow-x: auto; border: 1px solid #ddd; }
`

// WriteHTML writes a self-contained HTML page for a checked run: a
// space-time diagram as inline SVG (one lane per peer, views as coloured
// segments labelled with id, members and leader, crash and unreachable marks,
// offending lines outlined in red), the property table, the figures and the
// final views. It uses no scripts and fetches nothing. Safe for concurrent use.
func WriteHTML(w io.Writer, run *Run, r *Report) error {
	ew := &errWriter{w: w}
	verdict, class := "PASS", "pass"
	switch r.Status() {
	case 1:
		verdict, class = "FAIL", "fail"
	case 2:
		verdict, class = "CANNOT JUDGE", "cannot"
	}
	ew.printf("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>roster check: %s</title>\n<style>%s</style></head><body>\n", verdict, pageStyle)
	ew.printf("<h1>roster check <span class=\"badge %s\">%s</span></h1>\n", class, verdict)
	if v := r.Violated(); len(v) > 0 {
		ew.printf("<p class=\"meta\">violated: <b>%s</b></p>\n", esc(strings.Join(v, ", ")))
	}
	ew.printf("<p class=\"meta\">%s: %s; %d lines, %d view lines, %d ignored</p>\n", plural(len(r.Sources), "source"), esc(strings.Join(r.Sources, ", ")), r.Lines, r.ViewLines, r.Ignored)
	ew.printf("<p class=\"meta\">started %s &middot; crashed %s &middot; left %s &middot; survivors %s</p>\n", fmtList(r.Started), fmtList(r.Crashed), fmtList(r.Left), fmtList(r.Survivors))

	ew.printf("<h2>Space-time diagram</h2>\n<div class=\"diagram\">\n%s</div>\n", newDiagram(run, r).svg())
	ew.printf(`<p class="legend"><span>coloured bar: a view the peer installed (v<i>id</i> [members] L<i>leader</i>; hover for the line)</span>` +
		`<span style="color:#d00">&#x2716; crash</span><span style="color:#8a5a00">&#x25BC; <i>n</i>? peer n reported unreachable (nL: the leader)</span>` +
		`<span style="color:#d00">red outline: an offending line</span><span style="color:#888">dashed grey: peer starting, before its first view</span></p>` + "\n")

	writeProperties(ew, r)
	writeFigures(ew, r)
	writeFinal(ew, r)
	r.Groups.writeHTML(ew)
	ew.printf("</body></html>\n")
	return ew.err
}

func writeProperties(ew *errWriter, r *Report) {
	ew.printf("<h2>Properties</h2>\n")
	writePropertyTable(ew, r.Properties)
}

func writePropertyTable(ew *errWriter, props []Property) {
	ew.printf("<table>\n<tr><th>property</th><th>verdict</th><th>detail</th></tr>\n")
	for _, p := range props {
		class := map[Verdict]string{Held: "held", Violated: "violated", NotApplicable: "na"}[p.Verdict]
		ew.printf("<tr><td><b>%s</b></td><td><span class=\"badge %s\">%s</span></td><td>%s", esc(p.Name), class, esc(string(p.Verdict)), esc(p.Detail))
		if len(p.Lines) > 0 {
			var b strings.Builder
			for _, q := range p.Lines {
				b.WriteString(q.String())
				b.WriteByte('\n')
			}
			ew.printf("<pre>%s</pre>", esc(strings.TrimRight(b.String(), "\n")))
		}
		ew.printf("</td></tr>\n")
	}
	ew.printf("</table>\n")
}

func writeFigures(ew *errWriter, r *Report) {
	ew.printf("<h2>Figures</h2>\n")
	if !r.Figures.Available {
		ew.printf("<p class=\"meta\">%s</p>\n", esc(r.Figures.Join.Note))
		return
	}
	ew.printf("<table>\n<tr><th>figure</th><th>n</th><th>min</th><th>median</th><th>max</th><th>each (peer: latency)</th></tr>\n")
	for _, f := range []*Figure{&r.Figures.Join, &r.Figures.CrashRemoval, &r.Figures.Failover} {
		min, med, max, ok := f.Summary()
		if !ok {
			ew.printf("<tr><td>%s</td><td class=\"num\">0</td><td colspan=\"4\">%s</td></tr>\n", esc(f.Name), esc(f.Note))
			continue
		}
		var each []string
		for _, l := range f.Latencies {
			each = append(each, fmt.Sprintf("%d: %s", l.Peer, fmtDur(l.D)))
		}
		ew.printf("<tr><td>%s</td><td class=\"num\">%d</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td>%s</td></tr>\n",
			esc(f.Name), len(f.Latencies), fmtDur(min), fmtDur(med), fmtDur(max), esc(strings.Join(each, ", ")))
	}
	ew.printf("</table>\n")
	for _, f := range []*Figure{&r.Figures.Join, &r.Figures.CrashRemoval, &r.Figures.Failover} {
		for _, m := range f.Missing {
			ew.printf("<p class=\"meta\">%s: %s</p>\n", esc(f.Name), esc(m))
		}
	}
}

func writeFinal(ew *errWriter, r *Report) {
	if len(r.Final) == 0 {
		return
	}
	ew.printf("<h2>Final views</h2>\n<table>\n<tr><th>peer</th><th>view</th><th>leader</th><th>members</th><th>state</th></tr>\n")
	for _, f := range r.Final {
		state := f.State
		if f.Lives > 1 {
			state += fmt.Sprintf(", %d lives", f.Lives)
		}
		ew.printf("<tr><td class=\"num\">%d</td><td class=\"num\">%d</td><td class=\"num\">%d</td><td>%s</td><td>%s</td></tr>\n", f.Peer, f.ViewID, f.Leader, fmtList(f.Members), state)
	}
	ew.printf("</table>\n")
	if len(r.Removals) > 0 {
		ew.printf("<h2>Removals</h2>\n<table>\n<tr><th>view</th><th>removed</th><th>judged</th><th>line</th></tr>\n")
		for _, rm := range r.Removals {
			ew.printf("<tr><td class=\"num\">%d</td><td class=\"num\">%d</td><td>%s</td><td><code>%s</code></td></tr>\n", rm.ViewID, rm.Peer, esc(rm.Reason), esc(rm.Line.String()))
		}
		ew.printf("</table>\n")
	}
	for _, w := range r.Warnings {
		ew.printf("<p class=\"meta\">warning: %s</p>\n", esc(w))
	}
}
