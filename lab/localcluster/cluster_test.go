package localcluster

import (
	"testing"

	"roster/peer/fsm"
)

func TestTally(t *testing.T) {
	views := []fsm.View{
		{ID: 1, Members: []int{1}},
		{},
		{ID: 1, Members: []int{1}},
		{ID: 4, Members: []int{1, 2, 3, 5, 7, 8}},
		{ID: 1, Members: []int{1}},
	}
	want := "3 on view 1 [1], 1 on none, 1 on view 4 [1-3,5,7-8]"
	if got := tally(views); got != want {
		t.Errorf("tally = %q, want %q", got, want)
	}
	if got := ranges(nil); got != "[]" {
		t.Errorf("ranges(nil) = %q, want []", got)
	}
}
