package fsm

import (
	"github.com/hashicorp/raft"

	"roster/peer/groups"
)

// KindGroups is a client groups entry (a groups.Batch), applied by the
// groups state beside the view.
const KindGroups = Kind(groups.EntryKind)

// Groups returns the client groups state. Safe for concurrent use.
func (f *FSM) Groups() *groups.State { return f.groups }

// isGroups reports whether a log entry belongs to the groups state.
func isGroups(l *raft.Log) bool { return len(l.Data) > 0 && Kind(l.Data[0]) == KindGroups }
