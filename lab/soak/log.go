package soak

import (
	"roster/peer/viewlog"

	"roster/lab/runner"

	"bytes"
	"fmt"
	"strings"
	"time"
)

// logEntry is one line of a collected log: "name | TIMESTAMP text".
type logEntry struct {
	name string
	ts   time.Time // zero when the line has no timestamp
	raw  []byte    // the whole line, newline included
}

// parseLog splits a collected log (Result.Log) into its lines.
func parseLog(log []byte) []logEntry {
	var out []logEntry
	for len(log) > 0 {
		i := bytes.IndexByte(log, '\n')
		line := log
		if i >= 0 {
			line, log = log[:i+1], log[i+1:]
		} else {
			log = nil
		}
		e := logEntry{raw: line}
		if name, rest, ok := bytes.Cut(line, []byte(" | ")); ok {
			e.name = strings.TrimSpace(string(name))
			if stamp, _, ok := bytes.Cut(rest, []byte(" ")); ok {
				e.ts, _ = time.Parse(runner.TimeLayout, string(stamp))
			}
		}
		out = append(out, e)
	}
	return out
}

// soakLog prepares a soak run's log for the checker: it drops what the
// peers printed after stopAt (when the run stopped them: their goodbyes are
// not faults) and adds a "killed" record for each kill, after the last line
// the killed process printed (the last line of that peer before it was
// started again), stamped with the time of the kill.
func soakLog(log []byte, ids map[string]int, kills []killRecord, stopAt time.Time) []byte {
	var entries []logEntry
	for _, e := range parseLog(log) {
		if !e.ts.IsZero() && e.ts.After(stopAt) {
			continue
		}
		entries = append(entries, e)
	}
	width := 0 // the runner pads names to the longest service name
	for _, e := range entries {
		if prefix, _, ok := bytes.Cut(e.raw, []byte(" | ")); ok {
			width = max(width, len(prefix))
		}
	}
	after := map[int][]logEntry{} // index of the line a marker follows (-1: the start)
	for _, k := range kills {
		if k.at.After(stopAt) {
			continue
		}
		// After the last line of the killed process (which may have been read
		// a little after the kill), and in time order among the others.
		pos := -1
		ts := k.at
		for i, e := range entries {
			if e.name == k.name && (k.start.IsZero() || e.ts.Before(k.start)) {
				pos = i
				if e.ts.After(ts) {
					ts = e.ts
				}
			}
		}
		for i := len(entries) - 1; i > pos; i-- {
			if e := entries[i]; !e.ts.IsZero() && !e.ts.After(ts) {
				pos = i
				break
			}
		}
		marker := fmt.Sprintf("%-*s | %s %s\n", width, k.name, ts.UTC().Format(runner.TimeLayout),
			viewlog.FormatMessage(ids[k.name], 0, 0, viewlog.Killed))
		after[pos] = append(after[pos], logEntry{name: k.name, ts: ts, raw: []byte(marker)})
	}
	var b bytes.Buffer
	for _, m := range after[-1] {
		b.Write(m.raw)
	}
	for i, e := range entries {
		b.Write(e.raw)
		for _, m := range after[i] {
			b.Write(m.raw)
		}
	}
	return b.Bytes()
}
