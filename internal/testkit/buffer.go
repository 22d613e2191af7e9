package testkit

import (
	"bytes"
	"sync"
)

// SyncBuffer is a bytes.Buffer for a log or a process's output that one side
// writes while the test reads it. Safe for concurrent use; the zero value is
// empty and ready.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
