// Package groups is the client groups of a roster cluster: their replicated
// state (a part of the FSM: State), the commands that change it (Op, in
// batches, one Raft entry each), and who checks each client (Owner,
// rendezvous hashing over the committed view). The service a peer runs on
// top of it is package groups/service.
package groups

import (
	"encoding/json"
	"errors"
	"fmt"
)

// EntryKind is the first byte of a groups log entry; the FSM hands the
// entries that start with it to State.Apply.
const EntryKind byte = 'g'

// OpKind says what an Op does.
type OpKind uint8

// Operations on a group.
const (
	// OpJoin admits a client (a new incarnation: the entry's index),
	// replacing any earlier incarnation of it.
	OpJoin OpKind = 1
	// OpLeave removes a client; with an Incarnation, only that incarnation.
	OpLeave OpKind = 2
	// OpExpire is the owner's removal of one incarnation that missed its
	// checks; a late expire of an old incarnation changes nothing.
	OpExpire OpKind = 3
)

// String names the kind.
func (k OpKind) String() string {
	switch k {
	case OpJoin:
		return "join"
	case OpLeave:
		return "leave"
	case OpExpire:
		return "expire"
	}
	return fmt.Sprintf("op%d", k)
}

// Op is one change to one client of one group.
type Op struct {
	Kind   OpKind `json:"k"`
	Group  string `json:"g"`
	Client string `json:"c"`
	// Addr and Meta are the joining client's check address and metadata.
	Addr string          `json:"a,omitempty"`
	Meta json.RawMessage `json:"m,omitempty"`
	// Incarnation is the incarnation a leave (optional) or an expire
	// (required) removes.
	Incarnation uint64 `json:"i,omitempty"`
	// By is the peer that proposed an expire (the owner), for the record.
	By int `json:"b,omitempty"`
	// Request identifies the join request (api.RequestHeader): a join
	// that repeats the request of the client's current incarnation (one
	// tried again after its answer was lost) changes nothing and answers
	// that incarnation, so that one request takes effect once.
	Request string `json:"r,omitempty"`
}

// key identifies the client an op is about.
func (o Op) key() clientKey { return clientKey{o.Group, o.Client} }

type clientKey struct{ group, client string }

// validate checks an op taken from the log. The API checks requests before
// they become ops; this guards the state machine against anything else.
func (o Op) validate() error {
	if o.Group == "" || len(o.Group) > maxID || o.Client == "" || len(o.Client) > maxID {
		return errors.New("bad group or client id")
	}
	if len(o.Request) > maxID {
		return errors.New("request id over 128 bytes")
	}
	switch o.Kind {
	case OpJoin:
		if o.Addr == "" {
			return errors.New("join without an address")
		}
	case OpLeave:
	case OpExpire:
		if o.Incarnation == 0 {
			return errors.New("expire without an incarnation")
		}
	default:
		return fmt.Errorf("unknown op kind %d", o.Kind)
	}
	return nil
}

// maxID bounds ids in the log (the API allows 128 bytes).
const maxID = 128

// Batch is one log entry: ops applied in order, as one atomic step.
type Batch struct {
	Ops []Op `json:"ops"`
}

// Encode returns the log entry bytes of b. It fails only on a Meta that is
// not JSON.
func (b Batch) Encode() ([]byte, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode groups entry: %w", err)
	}
	return append([]byte{EntryKind}, raw...), nil
}

// DecodeBatch parses a log entry made by Encode.
func DecodeBatch(data []byte) (Batch, error) {
	var b Batch
	if len(data) == 0 || data[0] != EntryKind {
		return b, errors.New("not a groups entry")
	}
	if err := json.Unmarshal(data[1:], &b); err != nil {
		return b, fmt.Errorf("bad groups entry: %w", err)
	}
	return b, nil
}

// OpResult is what one op of a batch did.
type OpResult struct {
	// Changed is true when the op changed its group.
	Changed bool
	// Incarnation is the new incarnation of a join, or the incarnation a
	// leave or expire removed (0 when it removed nothing).
	Incarnation uint64
	// Err is set when the op was refused as malformed.
	Err error
}

// Result is what State.Apply returns (through Raft's ApplyFuture.Response)
// for a batch: one OpResult per op, in order.
type Result struct {
	// Index is the Raft index of the entry.
	Index uint64
	Ops   []OpResult
	// Err is set when the whole entry could not be read.
	Err error
}
