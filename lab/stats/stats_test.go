package stats

import (
	"testing"
	"time"
)

func TestOf(t *testing.T) {
	ms := time.Millisecond
	s := Of([]time.Duration{4 * ms, 1 * ms, 3 * ms, 2 * ms})
	if s.N != 4 || s.MinMs != 1 || s.MedianMs != 2.5 || s.MaxMs != 4 || s.P90Ms != 4 {
		t.Fatalf("Of = %+v", s)
	}
	if z := Of(nil); z != (Summary{}) {
		t.Fatalf("Of(nil) = %+v, want zero", z)
	}
	var many []time.Duration
	for i := 1; i <= 100; i++ {
		many = append(many, time.Duration(i)*ms)
	}
	if s := Of(many); s.P90Ms != 91 || s.P99Ms != 100 || s.MedianMs != 50.5 {
		t.Fatalf("Of(1..100) = %+v", s)
	}
}
