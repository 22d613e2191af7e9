package checker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Source is one log input: a file, stdin, or an in-memory buffer. Name is
// used only to quote lines ("one.log:12").
type Source struct {
	Name string
	R    io.Reader
}

// Options tune how a run is read and judged. The zero value judges a run
// with nothing killed from outside and no removal expected.
type Options struct {
	// Hostsfile maps peer names to ids, for compose-prefixed logs
	// ("one  | ..."): with it, a container that printed only diagnostics still
	// counts as started. Optional.
	Hostsfile map[string]int
	// Killed lists peers the run killed from outside (no "crashing" line):
	// they count as crashed at an unknown time after the last view they
	// printed, and stay crashed to the end.
	Killed []int
	// Clients tune how group log lines are judged (see GroupOptions).
	Clients GroupOptions
	// Paused lists peers that are paused at the end of the run (docker
	// pause): down for now, judged like Killed.
	Paused []int
	// Disconnected lists peers that are running but on no network at the end
	// of the run (docker network disconnect): judged like Killed.
	Disconnected []int
	// Exited lists peers whose process is not running at the end of the run:
	// down, as their last crash record says (crashed, left), or exited at
	// an unknown time when they printed none.
	Exited []int
	// Restarts lists restarts seen from outside the logs (a container's
	// start time): each begins a new life of its peer at the peer's first
	// line at or after At. The logs must carry timestamps. A restart the
	// log shows by itself (a "joining" line) needs no entry.
	Restarts []Restart
	// Engine holds notes on what the container engine said about each peer
	// (see ApplyContainers); the report repeats them.
	Engine []string
	// ExpectRemovals lists peers that may rightly be removed while alive, such
	// as the minority side of a partition. Their removals are reported but are
	// not accuracy violations; a peer that ends the run alive must still end
	// in the final view (completeness).
	ExpectRemovals []int
}

// Restart is a new life of a peer, seen from outside its log.
type Restart struct {
	// Peer is the peer id.
	Peer int
	// At is when the new life started.
	At time.Time
	// Ended is when the life before it ended, when known (zero otherwise).
	Ended time.Time
}

// maxLineLen bounds a log line; longer lines are ignored.
const maxLineLen = 1 << 20

// Event is one view log record as read, with where it came from.
type Event struct {
	Record
	// Source and LineNo locate the line (LineNo is 1-based).
	Source string
	LineNo int
	// Text is the line as read, trimmed, for quoting.
	Text string
	// Name is the "name | " prefix ("" when absent).
	Name string
	// Time is the line's timestamp (zero when absent).
	Time time.Time
	// Seq is the event's position in Run.Events.
	Seq int
}

// Quote returns where the event's line is and what it says.
func (e *Event) Quote() Quote {
	return Quote{Source: e.Source, Line: e.LineNo, Text: e.Text}
}

// Run is every view log record of one run, in the order read: sources in the
// order given, lines in file order. The order of one peer's lines is the
// order of its events. A Run is not modified by Check or WriteHTML; it is safe
// for concurrent reads once Read returns.
type Run struct {
	// Events holds every record line, in read order.
	Events []Event
	// GroupEvents holds every group log line (printed by clients), in read order.
	GroupEvents []GroupEvent
	// Started lists, sorted, every peer id that printed a record, plus every
	// named container the hostsfile maps to an id that printed anything.
	Started []int
	// Names maps a peer id to the container or runner name that printed its
	// lines, when known.
	Names map[int]string
	// FirstLine is the earliest timestamp of any line (diagnostics included)
	// of each peer, when the logs carry timestamps.
	FirstLine map[int]time.Time
	// Start and End span every timestamp read (zero without timestamps).
	Start, End time.Time
	// Sources names the inputs, in order.
	Sources []string
	// Lines counts every line read; Ignored counts lines that were neither
	// view nor group records.
	Lines, Ignored int
	// Warnings notes oddities that are not property violations (a name that
	// maps to two peer ids, a record whose peer_id disagrees with its
	// container's name in the hostsfile).
	Warnings []string

	byPeer map[int][]int // peer id -> indexes into Events, in order
}

// namedLine is a non-record line with a name prefix, kept until names are resolved.
type namedLine struct {
	name string
	time time.Time
}

// Read parses all sources into a Run. Lines that are not view log records are
// counted and ignored. It returns an error only when a source cannot be read;
// the sources are read one after another, not concurrently.
func Read(srcs []Source, opts Options) (*Run, error) {
	run := &Run{Names: map[int]string{}, FirstLine: map[int]time.Time{}, byPeer: map[int][]int{}}
	learned := map[string]int{} // name -> peer id learned from its records; -1 when ambiguous
	var named []namedLine
	for _, src := range srcs {
		run.Sources = append(run.Sources, src.Name)
		err := eachLine(src.R, func(lineNo int, text string) {
			run.Lines++
			ln := ParseLine(text)
			if !ln.Time.IsZero() {
				run.noteTime(ln.Time)
			}
			if ln.Group != nil {
				run.addGroupEvent(GroupEvent{GroupRecord: *ln.Group, Source: src.Name, LineNo: lineNo, Text: quoteText(text), Name: ln.Name, Time: ln.Time})
				return
			}
			if ln.Rec == nil {
				run.Ignored++
				if ln.Name != "" {
					named = append(named, namedLine{ln.Name, ln.Time})
				}
				return
			}
			ev := Event{Record: *ln.Rec, Source: src.Name, LineNo: lineNo, Text: quoteText(text), Name: ln.Name, Time: ln.Time, Seq: len(run.Events)}
			run.Events = append(run.Events, ev)
			p := ev.Peer
			run.byPeer[p] = append(run.byPeer[p], ev.Seq)
			run.notePeerTime(p, ln.Time)
			if ln.Name != "" {
				if id, ok := learned[ln.Name]; !ok {
					learned[ln.Name] = p
				} else if id != p && id != -1 {
					learned[ln.Name] = -1
					run.Warnings = append(run.Warnings, fmt.Sprintf("name %q printed records of peers %d and %d", ln.Name, id, p))
				}
			}
		})
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", src.Name, err)
		}
	}
	run.resolveNames(opts.Hostsfile, learned, named)
	return run, nil
}

// resolveNames gives names to peers, and first-line times and started status
// to containers that printed only diagnostics.
func (run *Run) resolveNames(hosts map[string]int, learned map[string]int, named []namedLine) {
	started := map[int]bool{}
	for p := range run.byPeer {
		started[p] = true
	}
	idOf := func(name string) (int, bool) {
		if id, ok := resolveName(name, hosts); ok {
			return id, true
		}
		id, ok := learned[name]
		return id, ok && id >= 0
	}
	// Names of peers from their own records, checked against the hostsfile.
	names := make([]string, 0, len(learned))
	for name := range learned {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		id := learned[name]
		if id < 0 {
			continue
		}
		if hid, ok := resolveName(name, hosts); ok && hid != id {
			run.Warnings = append(run.Warnings, fmt.Sprintf("container %q is peer %d in the hostsfile but printed records with peer_id %d", name, hid, id))
		}
		if _, ok := run.Names[id]; !ok {
			run.Names[id] = name
		}
	}
	for _, nl := range named {
		id, ok := idOf(nl.name)
		if !ok {
			continue
		}
		if _, fromHosts := resolveName(nl.name, hosts); fromHosts {
			started[id] = true
		}
		if _, ok := run.Names[id]; !ok {
			run.Names[id] = nl.name
		}
		run.notePeerTime(id, nl.time)
	}
	for p := range started {
		run.Started = append(run.Started, p)
	}
	sort.Ints(run.Started)
}

func (run *Run) noteTime(t time.Time) {
	if run.Start.IsZero() || t.Before(run.Start) {
		run.Start = t
	}
	if t.After(run.End) {
		run.End = t
	}
}

func (run *Run) notePeerTime(p int, t time.Time) {
	if t.IsZero() {
		return
	}
	if old, ok := run.FirstLine[p]; !ok || t.Before(old) {
		run.FirstLine[p] = t
	}
}

// PeerEvents returns the events of peer p in order. The slice is fresh; the
// events point into run.Events.
func (run *Run) PeerEvents(p int) []*Event {
	idx := run.byPeer[p]
	out := make([]*Event, len(idx))
	for i, j := range idx {
		out[i] = &run.Events[j]
	}
	return out
}

// Peers returns every peer id that printed a record, sorted.
func (run *Run) Peers() []int {
	out := make([]int, 0, len(run.byPeer))
	for p := range run.byPeer {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// Timed reports whether every record carries a timestamp.
func (run *Run) Timed() bool {
	for i := range run.Events {
		if run.Events[i].Time.IsZero() {
			return false
		}
	}
	return len(run.Events) > 0
}

// eachLine calls fn for every line of r, with its 1-based number. Lines
// longer than maxLineLen are passed on truncated (they cannot be records).
func eachLine(r io.Reader, fn func(lineNo int, text string)) error {
	br := bufio.NewReaderSize(r, 64*1024)
	lineNo := 0
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) < maxLineLen {
				long = append(long, chunk...)
			}
			continue
		}
		if len(chunk) > 0 || long != nil {
			lineNo++
			if long != nil {
				if len(long) < maxLineLen {
					long = append(long, chunk...)
				}
				fn(lineNo, string(long))
				long = nil
			} else {
				fn(lineNo, string(chunk))
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// quoteText trims a line for quoting and keeps it short.
func quoteText(s string) string {
	s = stripANSI(s)
	const max = 240
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return s[:cut] + "..."
	}
	return s
}

// resolveName maps a container name to a hostsfile id. It accepts the name
// itself ("one"), compose v2 replicas ("one-1", "roster-one-1"), compose v1
// containers ("roster_one_1"), run prefixes ("e2e123-one") and Swarm tasks
// ("stack_one.1.kaxl7mzl6dbf"): the longest hostsfile name that ends the
// name, after a separator or at its start, once a replica or task suffix is
// taken off.
func resolveName(name string, hosts map[string]int) (int, bool) {
	if len(hosts) == 0 {
		return 0, false
	}
	if id, ok := hosts[name]; ok {
		return id, true
	}
	name = stripTask(name)
	if id, ok := hosts[name]; ok {
		return id, true
	}
	base := stripReplica(name)
	if id, ok := hosts[base]; ok {
		return id, true
	}
	best, bestID := "", 0
	for _, cand := range []string{base, name} {
		for h, id := range hosts {
			if len(h) >= len(cand) || len(h) <= len(best) || cand[len(cand)-len(h):] != h {
				continue
			}
			if c := cand[len(cand)-len(h)-1]; c == '-' || c == '_' || c == '.' {
				best, bestID = h, id
			}
		}
		if best != "" {
			return bestID, true
		}
	}
	return 0, false
}

// stripReplica takes a compose replica number ("-1", "_1") off a name.
func stripReplica(name string) string {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	if i < len(name) && i > 1 && (name[i-1] == '-' || name[i-1] == '_') {
		return name[:i-1]
	}
	return name
}

// stripTask takes a Swarm task suffix off a name: "stack_one.1.kaxl7mzl6dbf"
// (a replicated service's slot and task id, the id 12 or 25 lowercase letters
// and digits) or "stack_one.<node id>.<task id>" (a global service) becomes
// "stack_one". Other names are returned as they are.
func stripTask(name string) string {
	parts := strings.Split(name, ".")
	if len(parts) < 3 {
		return name
	}
	slot, id := parts[len(parts)-2], parts[len(parts)-1]
	if !isTaskID(id) || !(isDigits(slot) || isTaskID(slot)) {
		return name
	}
	return strings.Join(parts[:len(parts)-2], ".")
}

func isTaskID(s string) bool {
	if len(s) != 12 && len(s) != 25 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
