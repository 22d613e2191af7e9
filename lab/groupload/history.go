package groupload

import (
	"encoding/json"
	"io"
	"slices"
	"sync"
	"time"
)

// The kinds of operations a history records.
const (
	// OpJoin is POST /v1/groups/{group}/join for Client.
	OpJoin = "join"
	// OpLeave is POST /v1/groups/{group}/leave for Client.
	OpLeave = "leave"
	// OpRead is GET /v1/groups/{group}?consistent.
	OpRead = "read"
	// OpExpire is the workload killing Client's life Incarnation (it stops
	// answering checks and keepalives): the owner may remove that
	// incarnation at any time after Start, or never (if the client came
	// back in time).
	OpExpire = "expire"
)

// Member is one member of a group as a read saw it.
type Member struct {
	Client      string `json:"client"`
	Incarnation uint64 `json:"incarnation"`
}

// Op is one recorded operation: what was asked, of which peer, when, and
// what came back. A plain value.
type Op struct {
	Kind  string `json:"kind"`
	Group string `json:"group"`
	// Client is the client joined, left or expired ("" for reads).
	Client string `json:"client,omitempty"`
	// Worker numbers the workload goroutine that made the call (one lane of
	// the visualization).
	Worker int `json:"worker"`
	// Peer is the API address asked.
	Peer string `json:"peer,omitempty"`
	// Start and End bound the call; End is zero when the outcome is unknown
	// (a timeout, a dropped connection, a 5xx): the operation may take
	// effect at any time after Start, or never.
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitempty"`
	// OK is true when the peer answered 200: the operation took effect
	// (join, leave) or returned the state (read).
	OK bool `json:"ok"`
	// Failed is true when the peer refused the call with a 4xx: it took no
	// effect. Neither OK nor Failed: the outcome is unknown.
	Failed bool `json:"failed,omitempty"`
	// Incarnation is the join's answer, or the life an expire kills.
	Incarnation uint64 `json:"incarnation,omitempty"`
	// Index is the committed index the answer carried.
	Index uint64 `json:"index,omitempty"`
	// Members is a read's answer, sorted by client.
	Members []Member `json:"members,omitempty"`
	// Err says why a call failed or its outcome is unknown.
	Err string `json:"error,omitempty"`
}

// Unknown reports whether the operation's outcome is unknown.
func (o Op) Unknown() bool { return !o.OK && !o.Failed }

// History records operations from many goroutines. Safe for concurrent use.
type History struct {
	mu  sync.Mutex
	ops []Op
}

// Add records one operation.
func (h *History) Add(op Op) {
	if op.Members != nil {
		op.Members = slices.Clone(op.Members)
	}
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// Ops returns a copy of the recorded operations, in the order recorded.
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ops)
}

// WriteJSON writes ops as one JSON array.
func WriteJSON(w io.Writer, ops []Op) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(ops)
}

// ReadJSON reads a history written by WriteJSON.
func ReadJSON(r io.Reader) ([]Op, error) {
	var ops []Op
	err := json.NewDecoder(r).Decode(&ops)
	return ops, err
}
