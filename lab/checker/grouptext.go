package checker

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// writeText prints the group properties, their offending lines, the
// crash-to-removal latencies, absences and final group views. A nil report
// prints nothing.
func (g *GroupReport) writeText(ew *errWriter) {
	if g == nil {
		return
	}
	ew.printf("\ngroups %s, clients %s (%d group lines)\n\n", fmtStrings(g.Groups), fmtStrings(g.Clients), g.Lines)
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP PROPERTY\tVERDICT\tDETAIL")
	for _, p := range g.Properties {
		v := string(p.Verdict)
		if p.Verdict == Violated {
			v = "VIOLATED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, v, p.Detail)
	}
	tw.Flush()
	for _, p := range g.Properties {
		if len(p.Lines) == 0 {
			continue
		}
		ew.printf("\n%s, offending lines:\n", p.Name)
		for _, q := range p.Lines {
			ew.printf("  %s\n", q)
		}
	}
	for _, l := range g.CrashRemoval {
		ew.printf("client crash to removal: %q in %q: %s (last seen by %q)\n", l.Client, l.Group, fmtDur(l.To.Sub(l.From)), l.Watcher)
	}
	for _, ab := range g.Absences {
		span := "untimed"
		if ab.Ms > 0 {
			span = fmtDur(time.Duration(ab.Ms * float64(time.Millisecond)))
		}
		ew.printf("client absence: %q out of %q from index %d to %d (%s)\n", ab.Client, ab.Group, ab.From, ab.To, span)
	}
	if len(g.Final) > 0 {
		ew.printf("\nfinal group views:\n")
		for _, f := range g.Final {
			ew.printf("  %s %q: index %d, members %s (%s)\n", f.Group, f.Client, f.Index, fmtStrings(f.Members), f.State)
		}
	}
}

// writeHTML adds the group properties and final group views to the page.
func (g *GroupReport) writeHTML(ew *errWriter) {
	if g == nil {
		return
	}
	ew.printf("<h2>Groups</h2>\n<p class=\"meta\">groups %s &middot; clients %s &middot; %d group lines</p>\n", esc(fmtStrings(g.Groups)), esc(fmtStrings(g.Clients)), g.Lines)
	writePropertyTable(ew, g.Properties)
	if len(g.CrashRemoval) > 0 || len(g.Absences) > 0 {
		var b strings.Builder
		for _, l := range g.CrashRemoval {
			fmt.Fprintf(&b, "crash of %q in %q to removal at every live watcher: %s\n", l.Client, l.Group, fmtDur(l.To.Sub(l.From)))
		}
		for _, ab := range g.Absences {
			fmt.Fprintf(&b, "%q out of %q from index %d to %d: %.0f ms\n", ab.Client, ab.Group, ab.From, ab.To, ab.Ms)
		}
		ew.printf("<pre style=\"color:#1a1a1a\">%s</pre>\n", esc(strings.TrimRight(b.String(), "\n")))
	}
	ew.printf("<table>\n<tr><th>group</th><th>client</th><th>index</th><th>members</th><th>state</th></tr>\n")
	for _, f := range g.Final {
		ew.printf("<tr><td>%s</td><td>%s</td><td class=\"num\">%d</td><td>%s</td><td>%s</td></tr>\n", esc(f.Group), esc(f.Client), f.Index, esc(fmtStrings(f.Members)), esc(f.State))
	}
	ew.printf("</table>\n")
}
