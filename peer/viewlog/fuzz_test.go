package viewlog

import (
	"slices"
	"testing"
)

// FuzzParse: no line panics Parse; numbers stay in range; and a view line
// Format writes parses back to what was written.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"{peer_id:2, view_id: 3, leader: 1, memb_list: [1,2,3]}",
		`{peer_id:5, view_id: 5, leader: 1, message:"crashing"}`,
		`{peer_id:1, view_id: 5, leader: 1, message:"peer 1 (leader) unreachable"}`,
		"{peer_id:2, view_id: 99999999999999999999, leader: 1, memb_list: []}",
		"{}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := Parse(s)
		if !ok {
			return
		}
		for _, n := range append([]int{r.Peer, r.ViewID, r.Leader, r.Target}, r.Members...) {
			if n < 0 || n > MaxNumber {
				t.Fatalf("number %d out of range in %+v", n, r)
			}
		}
		if r.Kind == KindView {
			line := FormatView(r.Peer, uint64(r.ViewID), r.Leader, r.Members)
			back, ok := Parse(line)
			if !ok || back.Peer != r.Peer || back.ViewID != r.ViewID || back.Leader != r.Leader || !slices.Equal(back.Members, r.Members) {
				t.Fatalf("%q -> %+v -> %q -> %+v", s, r, line, back)
			}
		}
	})
}
