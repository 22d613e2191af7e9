package node

import (
	"bytes"
	"strings"
	"testing"

	"roster/peer/fsm"
	"roster/peer/viewlog"
)

func view(id uint64, lives map[int]uint64) fsm.View {
	v := fsm.View{ID: id, Leader: 1, Lives: lives}
	for m := range lives {
		v.Members = append(v.Members, m)
	}
	for i := range v.Members { // ascending, as views hold them
		for j := i + 1; j < len(v.Members); j++ {
			if v.Members[j] < v.Members[i] {
				v.Members[i], v.Members[j] = v.Members[j], v.Members[i]
			}
		}
	}
	return v
}

func TestPrinterPrintsOnlyItsLife(t *testing.T) {
	var out bytes.Buffer
	first := make(chan struct{}, 2)
	p := newPrinter(2, 22, viewlog.New(&out, 2), func() { first <- struct{}{} })
	// History of an earlier life (replayed by Raft), then the view re-adding
	// this life, a repeat of it (a snapshot restore), and a later view.
	p.installed(view(3, map[int]uint64{1: 11, 2: 21}), false)
	p.installed(view(4, map[int]uint64{1: 11, 2: 21, 3: 31}), false)
	p.message("peer 3 unreachable", false) // not this life's view: nothing
	if p.onFirst == nil {
		t.Fatal("an earlier life's view counts as this life's first")
	}
	p.installed(view(5, map[int]uint64{1: 11, 3: 31}), false)
	p.installed(view(6, map[int]uint64{1: 11, 2: 22, 3: 31}), false)
	p.installed(view(6, map[int]uint64{1: 11, 2: 22, 3: 31}), true)
	p.installed(view(7, map[int]uint64{1: 11, 2: 22}), false)
	want := "{peer_id:2, view_id: 6, leader: 1, memb_list: [1,2,3]}\n" +
		"{peer_id:2, view_id: 7, leader: 1, memb_list: [1,2]}\n"
	if out.String() != want {
		t.Fatalf("printed\n%swant\n%s", out.String(), want)
	}
	<-first // once, for view 6
	if p.onFirst != nil || len(first) != 0 {
		t.Fatal("onFirst not called exactly once")
	}
}

func TestPrinterUnreachableOnlyWhileAMember(t *testing.T) {
	var out bytes.Buffer
	p := newPrinter(1, 11, viewlog.New(&out, 1), nil)
	p.installed(view(5, map[int]uint64{1: 11, 5: 51}), false)
	p.unreachable(5)
	p.installed(view(6, map[int]uint64{1: 11}), false)
	p.unreachable(5) // view 6 removed it already
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != 3 || got[1] != `{peer_id:1, view_id: 5, leader: 1, message:"peer 5 unreachable"}` {
		t.Fatalf("printed\n%s", out.String())
	}
	out.Reset()
	p.installed(view(7, map[int]uint64{1: 11, 2: 21}), false)
	p.unreachable(1) // itself, leading: "(leader)"
	if want := `{peer_id:1, view_id: 7, leader: 1, memb_list: [1,2]}` + "\n" +
		`{peer_id:1, view_id: 7, leader: 1, message:"peer 1 (leader) unreachable"}` + "\n"; out.String() != want {
		t.Fatalf("printed\n%swant\n%s", out.String(), want)
	}
}

func TestPrinterSilentAfterCrashing(t *testing.T) {
	var out bytes.Buffer
	p := newPrinter(1, 11, viewlog.New(&out, 1), nil)
	p.installed(view(1, map[int]uint64{1: 11, 2: 21}), false)
	p.message(viewlog.Crashing, true)
	p.installed(view(2, map[int]uint64{1: 11}), false)
	p.unreachable(2)
	p.message(viewlog.Leaving, true)
	want := "{peer_id:1, view_id: 1, leader: 1, memb_list: [1,2]}\n" +
		"{peer_id:1, view_id: 1, leader: 1, message:\"crashing\"}\n"
	if out.String() != want {
		t.Fatalf("printed\n%swant\n%s", out.String(), want)
	}
}

func TestPrinterSilentAfterLeaving(t *testing.T) {
	var out bytes.Buffer
	p := newPrinter(2, 21, viewlog.New(&out, 2), nil)
	p.installed(view(3, map[int]uint64{1: 11, 2: 21}), false)
	p.message(viewlog.Leaving, true)
	p.installed(view(4, map[int]uint64{1: 11, 2: 21, 3: 31}), false) // admitted while 2 leaves
	want := "{peer_id:2, view_id: 3, leader: 1, memb_list: [1,2]}\n" +
		"{peer_id:2, view_id: 3, leader: 1, message:\"leaving\"}\n"
	if out.String() != want {
		t.Fatalf("printed\n%swant\n%s", out.String(), want)
	}
}
