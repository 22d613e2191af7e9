package checker

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"time"
)

// Diagram geometry, in SVG pixels.
const (
	svgWidth   = 1360
	laneLeft   = 130 // lane labels live left of this
	laneRight  = 24
	laneTop    = 58
	laneHeight = 48
	segHeight  = 24
	charWidth  = 6.7 // of the 11px monospace label font
)

// diagram lays out a run as a space-time diagram: one lane per peer, time
// (or, without timestamps, view ids) running to the right.
type diagram struct {
	run   *Run
	rep   *Report
	timed bool
	lanes []int
	lane  map[int]int // peer -> lane index

	// timed layout
	t0   time.Time
	span time.Duration

	// logical layout
	col  map[int]int // view id -> column
	ids  []int       // view ids, ascending
	ncol int

	bad map[Quote]bool // offending lines
	b   strings.Builder
}

func newDiagram(run *Run, rep *Report) *diagram {
	d := &diagram{run: run, rep: rep, timed: run.Timed(), lane: map[int]int{}, col: map[int]int{}, bad: map[Quote]bool{}}
	seen := map[int]bool{}
	for _, p := range append(append([]int(nil), run.Started...), run.Peers()...) {
		if !seen[p] {
			seen[p] = true
			d.lanes = append(d.lanes, p)
		}
	}
	sort.Ints(d.lanes)
	for i, p := range d.lanes {
		d.lane[p] = i
	}
	for _, p := range rep.Properties {
		for _, q := range p.Lines {
			d.bad[q] = true
		}
	}
	if d.timed {
		var end time.Time
		for i := range run.Events {
			t := run.Events[i].Time
			if d.t0.IsZero() || t.Before(d.t0) {
				d.t0 = t
			}
			if t.After(end) {
				end = t
			}
		}
		for _, p := range d.lanes {
			if t, ok := run.FirstLine[p]; ok && t.Before(d.t0) {
				d.t0 = t
			}
		}
		d.span = end.Sub(d.t0)
		if d.span < time.Second {
			d.span = time.Second
		}
		// Leave room after the last line for the final views' labels.
		if extra := d.span / 100 * 14; d.span < math.MaxInt64-extra {
			d.span += extra
		}
	} else {
		ids := map[int]bool{}
		for i := range run.Events {
			ids[run.Events[i].ViewID] = true
		}
		d.ids = sortedKeys(ids)
		for i, id := range d.ids {
			d.col[id] = i
		}
		d.ncol = len(ids) + 1 // one spare column for the final views
	}
	return d
}

func (d *diagram) plotWidth() float64 { return svgWidth - laneLeft - laneRight }

func (d *diagram) height() int { return laneTop + len(d.lanes)*laneHeight + 36 }

// xTime places a timestamp.
func (d *diagram) xTime(t time.Time) float64 {
	return laneLeft + float64(t.Sub(d.t0))/float64(d.span)*d.plotWidth()
}

// xView places a point in the logical layout: view id's column plus a fraction.
func (d *diagram) xView(id int, frac float64) float64 {
	colW := d.plotWidth() / float64(d.ncol)
	return laneLeft + (float64(d.col[id])+frac)*colW + 4
}

// x places an event.
func (d *diagram) x(e *Event) float64 {
	if d.timed {
		return d.xTime(e.Time)
	}
	switch e.Kind {
	case KindView:
		return d.xView(e.ViewID, 0)
	case KindCrash:
		return d.xView(e.ViewID, 0.62)
	default:
		return d.xView(e.ViewID, 0.35)
	}
}

func (d *diagram) xEnd() float64 { return laneLeft + d.plotWidth() }

func (d *diagram) laneY(p int) float64 { return float64(laneTop + d.lane[p]*laneHeight + laneHeight/2) }

func (d *diagram) printf(format string, a ...any) { fmt.Fprintf(&d.b, format, a...) }

// svg renders the diagram.
func (d *diagram) svg() string {
	d.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="100%%" viewBox="0 0 %d %d" style="max-width:%dpx;height:auto;display:block" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="11">`+"\n",
		svgWidth, d.height(), svgWidth)
	d.printf(`<rect width="100%%" height="100%%" fill="#fff"/>` + "\n")
	d.axis()
	for i, p := range d.lanes {
		y := laneTop + i*laneHeight
		if i%2 == 1 {
			d.printf(`<rect x="0" y="%d" width="%d" height="%d" fill="#f6f7f9"/>`+"\n", y, svgWidth, laneHeight)
		}
		d.laneLabel(p)
	}
	for _, p := range d.lanes {
		d.peerLane(p)
	}
	d.printf("</svg>\n")
	return d.b.String()
}

func (d *diagram) laneLabel(p int) {
	y := d.laneY(p)
	name := d.run.Names[p]
	state, colour := "", "#222"
	for _, f := range d.rep.Final {
		if f.Peer == p && f.Crashed {
			state, colour = " ("+f.State+")", "#b3261e"
		}
	}
	switch {
	case contains(d.rep.Left, p):
		state, colour = " (left)", "#666"
	case state == "" && contains(d.rep.Crashed, p):
		state, colour = " (crashed)", "#b3261e"
	}
	d.printf(`<text x="10" y="%.1f" font-size="13" font-weight="bold" fill="%s">peer %d</text>`+"\n", y-2, colour, p)
	sub := strings.TrimSpace(name + state)
	if sub != "" {
		d.printf(`<text x="10" y="%.1f" fill="#666">%s</text>`+"\n", y+12, esc(clip(sub, 17)))
	}
}

// axis draws time ticks (or view id columns) and, in the timed layout, a
// faint guide at the first printing of each view id.
func (d *diagram) axis() {
	bottom := laneTop + len(d.lanes)*laneHeight
	d.printf(`<line x1="%d" y1="%d" x2="%.1f" y2="%d" stroke="#999"/>`+"\n", laneLeft, bottom, d.xEnd(), bottom)
	if !d.timed {
		for _, id := range d.ids {
			x := d.xView(id, 0)
			d.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd" stroke-dasharray="3,3"/>`+"\n", x, laneTop-6, x, bottom)
			d.printf(`<text x="%.1f" y="%d" fill="#555">view %d</text>`+"\n", x+2, laneTop-10, id)
		}
		d.printf(`<text x="%d" y="%d" fill="#666">no timestamps: columns are view ids, in order; a peer's marks follow its own line order</text>`+"\n", laneLeft, bottom+24)
		return
	}
	step := tickStep(d.span)
	for i := 0; i <= int(d.span/step) && i <= 100; i++ {
		t := time.Duration(i) * step
		x := d.xTime(d.t0.Add(t))
		d.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999"/>`+"\n", x, bottom, x, bottom+5)
		d.printf(`<text x="%.1f" y="%d" text-anchor="middle" fill="#444">%s</text>`+"\n", x, bottom+17, fmtTick(t, step))
	}
	d.printf(`<text x="%.1f" y="%d" text-anchor="end" fill="#666">time since %s</text>`+"\n", d.xEnd(), bottom+31, d.t0.UTC().Format("2006-01-02 15:04:05.000 UTC"))
	// View id guides at the top, thinned so labels do not collide.
	first := map[int]time.Time{}
	for i := range d.run.Events {
		e := &d.run.Events[i]
		if t, ok := first[e.ViewID]; e.Kind == KindView && (!ok || e.Time.Before(t)) {
			first[e.ViewID] = e.Time
		}
	}
	lastX := -1e9
	for _, id := range sortedKeys(keysOfTimes(first)) {
		x := d.xTime(first[id])
		d.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ccc" stroke-dasharray="2,4"/>`+"\n", x, laneTop-6, x, bottom)
		if x-lastX > 34 {
			d.printf(`<text x="%.1f" y="%d" fill="#555">v%d</text>`+"\n", x+2, laneTop-10, id)
			lastX = x
		}
	}
}

// peerLane draws a peer's views as coloured segments, with its crash and
// unreachable marks.
func (d *diagram) peerLane(p int) {
	y := d.laneY(p)
	evs := d.run.PeerEvents(p)
	// Before the first record: the peer was starting.
	if t, ok := d.run.FirstLine[p]; ok && d.timed && len(evs) > 0 {
		x0, x1 := d.xTime(t), d.x(evs[0])
		if x1 > x0 {
			d.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#aaa" stroke-width="2" stroke-dasharray="4,3"><title>peer %d starting: first line %s</title></line>`+"\n", x0, y, x1, y, p, fmtClock(t))
			d.printf(`<circle cx="%.1f" cy="%.1f" r="3" fill="#aaa"/>`+"\n", x0, y)
		}
	}
	var marks []*Event
	for i, e := range evs {
		if e.Kind != KindView {
			marks = append(marks, e)
			continue
		}
		// The segment runs to the peer's next view or crash, or to the end.
		x0, x1 := d.x(e), d.xEnd()
		for _, n := range evs[i+1:] {
			if n.Kind == KindView || n.Kind == KindCrash {
				x1 = d.x(n)
				break
			}
		}
		d.segment(e, x0, math.Max(x1, x0+3), y)
	}
	// Marks that would land on top of each other are spread to the right.
	free := math.Inf(-1) // first x not covered by the previous unreachable mark
	for _, e := range marks {
		x := d.x(e)
		if e.Kind == KindUnreachable {
			x = math.Max(x, free)
			free = x + 6 + float64(len(unreachableLabel(e)))*6.2 + 8
		}
		d.mark(e, x, y)
	}
}

func (d *diagram) segment(e *Event, x0, x1, y float64) {
	hue := (e.ViewID * 67) % 360
	stroke, width := fmt.Sprintf("hsl(%d,45%%,42%%)", hue), 1.0
	if d.bad[e.Quote()] {
		stroke, width = "#d00", 2.5
	}
	d.printf(`<g><title>%s</title>`, esc(e.Quote().String()))
	d.printf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%d" rx="3" fill="hsl(%d,70%%,84%%)" stroke="%s" stroke-width="%.1f"/>`,
		x0, y-segHeight/2, x1-x0, segHeight, hue, stroke, width)
	w := x1 - x0 - 6
	for _, label := range []string{
		fmt.Sprintf("v%d %s L%d", e.ViewID, fmtList(e.Members), e.Leader),
		fmt.Sprintf("v%d %s", e.ViewID, fmtList(e.Members)),
		fmt.Sprintf("v%d", e.ViewID),
	} {
		if float64(len(label))*charWidth <= w {
			d.printf(`<text x="%.1f" y="%.1f" fill="#1a1a1a">%s</text>`, x0+4, y+4, esc(label))
			break
		}
	}
	d.printf("</g>\n")
}

func (d *diagram) mark(e *Event, x, y float64) {
	title := esc(e.Quote().String())
	switch e.Kind {
	case KindCrash:
		r := 8.0
		d.printf(`<g><title>%s</title><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d00" stroke-width="3"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d00" stroke-width="3"/>`,
			title, x-r, y-r, x+r, y+r, x-r, y+r, x+r, y-r)
		word := "crash"
		switch strings.TrimSpace(e.Message) {
		case "killed":
			word = "killed"
		case "leaving":
			word = "left"
		}
		d.printf(`<text x="%.1f" y="%.1f" fill="#d00" font-weight="bold">%s</text></g>`+"\n", x+11, y+4, word)
	case KindUnreachable:
		label := unreachableLabel(e)
		top := y - segHeight/2 - 1
		d.printf(`<g><title>%s</title><path d="M%.1f %.1f l-6 -9 h12 z" fill="#f29900" stroke="#8a5a00"/>`, title, x, top)
		d.printf(`<text x="%.1f" y="%.1f" fill="#8a5a00" font-size="10" font-weight="bold">%s</text></g>`+"\n", x+6, top-3, esc(label))
	default:
		top := y + segHeight/2 + 1
		d.printf(`<g><title>%s</title><circle cx="%.1f" cy="%.1f" r="3.5" fill="#4a6fa5"/></g>`+"\n", title, x, top+4)
	}
}

// unreachableLabel is the text next to an unreachable mark: "5?", or "1L?"
// for a leader.
func unreachableLabel(e *Event) string {
	if e.TargetLeader {
		return fmt.Sprintf("%dL?", e.Target)
	}
	return fmt.Sprintf("%d?", e.Target)
}

// tickStep picks a round tick interval giving at most about 14 ticks.
func tickStep(span time.Duration) time.Duration {
	for _, s := range []time.Duration{
		100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second,
		30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
	} {
		if span/s <= 14 {
			return s
		}
	}
	return span / 10
}

func fmtTick(t, step time.Duration) string {
	if step < time.Second {
		return fmt.Sprintf("%.1fs", t.Seconds())
	}
	return fmt.Sprintf("%ds", int(t.Seconds()))
}

func keysOfTimes(m map[int]time.Time) map[int]bool {
	out := make(map[int]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func fmtClock(t time.Time) string { return t.UTC().Format("15:04:05.000") }

func esc(s string) string { return html.EscapeString(s) }

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
