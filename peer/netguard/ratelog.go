package netguard

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// RateWindow is how long RateLog stays quiet about a kind of message after
// logging it once; at the end of the window it logs how many more came.
const RateWindow = time.Minute

// RateLog logs warnings about bad input at a bounded rate: the first of
// each kind is logged at once; the next ones in the same window are
// counted and reported in one line when the window ends. Safe for
// concurrent use; a nil *RateLog drops everything.
type RateLog struct {
	window  time.Duration
	log     hclog.Logger
	summary func(kind string, n int)

	mu     sync.Mutex
	counts map[string]int // kind -> suppressed count; present while a window is open
	timers map[string]*time.Timer
	closed bool
}

// NewRateLog returns a RateLog that writes to log at warn level.
func NewRateLog(log hclog.Logger) *RateLog {
	r := newRateLog(RateWindow)
	r.log = log
	r.summary = func(kind string, n int) { log.Warn(kind, "more", n, "in", RateWindow.String()) }
	return r
}

func newRateLog(window time.Duration) *RateLog {
	return &RateLog{window: window, counts: map[string]int{}, timers: map[string]*time.Timer{}}
}

// Warn logs msg (its kind) with args at warn level, unless a message of the
// same kind was logged within the window: then it is only counted.
func (r *RateLog) Warn(msg string, args ...any) {
	if r.Allow(msg) {
		r.log.Warn(msg, args...)
	}
}

// Allow reports whether a message of this kind may be logged now: true for
// the first of its window, false (and counted) for the rest.
func (r *RateLog) Allow(kind string) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	if _, open := r.counts[kind]; open {
		r.counts[kind]++
		return false
	}
	r.counts[kind] = 0
	r.timers[kind] = time.AfterFunc(r.window, func() { r.flush(kind) })
	return true
}

func (r *RateLog) flush(kind string) {
	r.mu.Lock()
	n := r.counts[kind]
	delete(r.counts, kind)
	delete(r.timers, kind)
	closed := r.closed
	r.mu.Unlock()
	if n > 0 && !closed && r.summary != nil {
		r.summary(kind, n)
	}
}

// Close stops the window timers; later messages are dropped.
func (r *RateLog) Close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for k, t := range r.timers {
		t.Stop()
		delete(r.timers, k)
	}
}

// LineWriter passes log lines (one per Write, as a log.Logger writes them)
// to W at a bounded rate: lines of one kind (the text up to the second
// colon, e.g. "[ERR] memberlist: Decrypt packet failed") are written once a
// window, then counted. Lines below warn level ([DEBUG], [INFO]) pass. Safe
// for concurrent use if W is.
type LineWriter struct {
	w  io.Writer
	rl *RateLog
}

// NewLineWriter returns a LineWriter writing to w.
func NewLineWriter(w io.Writer) *LineWriter {
	lw := &LineWriter{w: w, rl: newRateLog(RateWindow)}
	lw.rl.summary = func(kind string, n int) {
		fmt.Fprintf(w, "%s: %d more in the last %s\n", kind, n, RateWindow)
	}
	return lw
}

// Write writes p, or counts it when its kind was written within the window.
func (lw *LineWriter) Write(p []byte) (int, error) {
	line := string(p)
	if strings.HasPrefix(line, "[DEBUG]") || strings.HasPrefix(line, "[INFO]") {
		return lw.w.Write(p)
	}
	if !lw.rl.Allow(LineKind(line)) {
		return len(p), nil
	}
	return lw.w.Write(p)
}

// Close stops the writer's timers.
func (lw *LineWriter) Close() { lw.rl.Close() }

// LineKind returns the kind of a log line: its text up to the second ':'
// (level and source, then the message without its details and address).
func LineKind(line string) string {
	line = strings.TrimSpace(line)
	first := strings.IndexByte(line, ':')
	if first < 0 {
		return line
	}
	if second := strings.IndexByte(line[first+1:], ':'); second >= 0 {
		line = line[:first+1+second]
	}
	if i := strings.Index(line, " from="); i >= 0 {
		line = line[:i]
	}
	return line
}

// Writer returns an io.Writer for a log.Logger (net/http's ErrorLog) whose
// lines become warnings of kind "source: <line kind>", at a bounded rate.
func (r *RateLog) Writer(source string) io.Writer { return rateWriter{r, source} }

type rateWriter struct {
	r      *RateLog
	source string
}

func (w rateWriter) Write(p []byte) (int, error) {
	if w.r == nil {
		return len(p), nil
	}
	w.r.Warn(w.source + ": " + LineKind(string(p)))
	return len(p), nil
}
