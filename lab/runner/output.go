package runner

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// TimeLayout is the timestamp of the collected log and of --timestamps:
// RFC 3339 in UTC with nanoseconds, the shape `docker compose logs -t` uses.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// sink receives the output lines of every process of a run, stamps them with
// the time they arrived, and writes them to the live output, the log file and
// the in-memory log. Safe for concurrent use.
type sink struct {
	mu       sync.Mutex
	width    int
	now      func() time.Time
	live     io.Writer // nil: no live output
	liveTime bool      // stamp the live output too
	file     io.Writer // nil: no log file; always stamped
	fileErr  error
	log      bytes.Buffer
}

// line records one line of the process called name (the prefix).
func (s *sink) line(name, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.now().UTC().Format(TimeLayout)
	stamped := fmt.Sprintf("%-*s | %s %s\n", s.width, name, ts, text)
	s.log.WriteString(stamped)
	if s.live != nil {
		if s.liveTime {
			io.WriteString(s.live, stamped)
		} else {
			fmt.Fprintf(s.live, "%-*s | %s\n", s.width, name, text)
		}
	}
	if s.file != nil && s.fileErr == nil {
		_, s.fileErr = io.WriteString(s.file, stamped)
	}
}

// collected returns a copy of the stamped log so far.
// size is the length of the collected log so far (always at a line's end).
func (s *sink) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Len()
}

func (s *sink) collected() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.log.Bytes())
}

// maxLine caps a line without a newline; longer output is split.
const maxLine = 64 << 10

// lineReader reads r to its end and calls emit for each line (without the
// newline or a trailing '\r'); a last line without a newline is emitted too,
// and a line longer than maxLine is split.
func lineReader(r io.Reader, emit func(string)) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			b = bytes.TrimSuffix(b, []byte("\n"))
			b = bytes.TrimSuffix(b, []byte("\r"))
			emit(string(b))
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return
		}
	}
}
