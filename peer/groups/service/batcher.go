package service

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/raft"

	"roster/peer/groups"
)

// Batching limits: a batch is one Raft entry.
const (
	maxBatchOps   = 1024
	maxBatchBytes = 1 << 20
	// maxInflight is how many batches may be committing at once; while they
	// commit, new ops queue up and form the next batch.
	maxInflight = 2
	// enqueueTimeout bounds the hand-over of an entry to Raft.
	enqueueTimeout = time.Second
)

// batcher coalesces the ops submitted on the leader into few Raft entries:
// whatever queued up while the previous entries were committing goes into
// the next one. A batch holds at most one op per client, so every op of a
// batch sees the state its predecessors in the queue left. Safe for
// concurrent use; run runs once.
type batcher struct {
	raft  *raft.Raft
	in    chan *pending
	nudge *nudger // tells the followers of each commit at once
}

// clientKey identifies the client an op is about.
type clientKey struct{ group, client string }

func keyOf(o groups.Op) clientKey { return clientKey{o.Group, o.Client} }

type pending struct {
	op   groups.Op
	size int
	done chan outcome // buffered: the batcher never blocks on it
}

type outcome struct {
	res   groups.OpResult
	index uint64
	err   error
}

func newBatcher(r *raft.Raft) *batcher {
	return &batcher{raft: r, in: make(chan *pending, 4096), nudge: &nudger{raft: r}}
}

// submit commits op in the next batch and returns its result and the
// entry's index. It fails with raft's errors (ErrNotLeader,
// ErrLeadershipLost, ...) or ctx's.
func (b *batcher) submit(ctx context.Context, op groups.Op) (groups.OpResult, uint64, error) {
	p := &pending{op: op, size: len(op.Group) + len(op.Client) + len(op.Addr) + len(op.Meta) + 48, done: make(chan outcome, 1)}
	select {
	case b.in <- p:
	case <-ctx.Done():
		return groups.OpResult{}, 0, ctx.Err()
	}
	select {
	case o := <-p.done:
		return o.res, o.index, o.err
	case <-ctx.Done():
		return groups.OpResult{}, 0, ctx.Err()
	}
}

// run forms and commits batches until ctx is done, then fails what is queued.
func (b *batcher) run(ctx context.Context) {
	slots := make(chan struct{}, maxInflight)
	var carry *pending
	defer func() {
		// Let the commits in flight end (each ends with a commit,
		// leadership loss or Raft's shutdown), then fail the queue.
		for range maxInflight {
			slots <- struct{}{}
		}
		if carry != nil {
			carry.done <- outcome{err: raft.ErrRaftShutdown}
		}
		for {
			select {
			case p := <-b.in:
				p.done <- outcome{err: raft.ErrRaftShutdown}
			default:
				return
			}
		}
	}()
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-b.in:
			case <-ctx.Done():
				return
			}
		}
		// Wait for a free slot: meanwhile more ops queue up.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			carry = first
			return
		}
		batch := []*pending{first}
		seen := map[clientKey]bool{keyOf(first.op): true}
		size := first.size
	fill:
		for len(batch) < maxBatchOps {
			select {
			case p := <-b.in:
				if seen[keyOf(p.op)] || size+p.size > maxBatchBytes {
					carry = p
					break fill
				}
				seen[keyOf(p.op)] = true
				size += p.size
				batch = append(batch, p)
			default:
				break fill
			}
		}
		b.commit(batch, slots)
	}
}

// commit hands a batch to Raft and answers its ops when it committed, on a
// goroutine that frees its slot at the end.
func (b *batcher) commit(batch []*pending, slots chan struct{}) {
	ops := make([]groups.Op, len(batch))
	for i, p := range batch {
		ops[i] = p.op
	}
	data, err := groups.Batch{Ops: ops}.Encode()
	if err != nil {
		<-slots
		for _, p := range batch {
			p.done <- outcome{err: err}
		}
		return
	}
	f := b.raft.Apply(data, enqueueTimeout)
	go func() {
		defer func() { <-slots }()
		err := f.Error() // ends with the commit, leadership loss or shutdown
		var res groups.Result
		if err == nil {
			b.nudge.committed()
			var ok bool
			if res, ok = f.Response().(groups.Result); !ok {
				err = errors.New("groups entry applied as something else")
			} else if res.Err != nil {
				err = res.Err
			} else if len(res.Ops) != len(batch) {
				err = errors.New("groups entry applied with a wrong number of results")
			}
		}
		for i, p := range batch {
			if err != nil {
				p.done <- outcome{err: err}
				continue
			}
			p.done <- outcome{res: res.Ops[i], index: res.Index}
		}
	}()
}
