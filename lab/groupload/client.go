package groupload

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"roster/peer/api"
)

// client is one in-process client of the workload: a TCP listener the
// owner's checks connect to, and a goroutine that joins, leaves and reads
// its group through random peers, recording every call. Kill stops it
// answering checks (a crash, seen from the peers) until it restarts.
type client struct {
	idx   int
	id    string
	group string
	w     *workload
	rng   *rand.Rand

	mu     sync.Mutex
	ln     net.Listener // nil while crashed
	member bool         // the last join answered and no leave since
	inc    uint64       // the incarnation that join answered
	kill   chan time.Duration
}

// listen opens the client's check address and accepts (and closes) checks
// until the listener is closed.
func (c *client) listen() error {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	return nil
}

func (c *client) addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln == nil {
		return ""
	}
	return c.ln.Addr().String()
}

// crash closes the check address: from now on checks are refused.
func (c *client) crash() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
}

// run is the client's life until ctx ends: join, then random reads,
// re-joins and leave-and-join, and crashes when the killer asks.
func (c *client) run(ctx context.Context) {
	defer c.crash()
	if err := c.listen(); err != nil {
		c.w.note("client %s: %v", c.id, err)
		return
	}
	c.joinUntilIn(ctx)
	for ctx.Err() == nil {
		select {
		case down := <-c.kill:
			c.die(ctx, down)
			continue
		case <-ctx.Done():
			return
		case <-time.After(c.w.pause(c.rng)):
		}
		switch r := c.rng.Float64(); {
		case r < 0.75:
			c.read(ctx)
		case r < 0.85:
			c.leave(ctx)
			c.joinUntilIn(ctx)
		default:
			c.join(ctx)
			if !c.isMember() {
				c.joinUntilIn(ctx)
			}
		}
	}
}

// killable reports whether the client is a member with a known
// incarnation: only such a life is killed, so its expiry is well defined.
func (c *client) isMember() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.member && c.ln != nil
}

// die crashes the client, records the expiry of its life, stays down for
// down, and comes back with a new check address and a new join.
func (c *client) die(ctx context.Context, down time.Duration) {
	c.mu.Lock()
	inc, member := c.inc, c.member
	c.mu.Unlock()
	if !member {
		return
	}
	c.crash()
	c.w.hist.Add(Op{Kind: OpExpire, Group: c.group, Client: c.id, Worker: c.idx, Start: time.Now(), Incarnation: inc})
	c.w.event("kill client " + c.id)
	c.mu.Lock()
	c.member = false
	c.mu.Unlock()
	select {
	case <-ctx.Done():
		return
	case <-time.After(down):
	}
	if err := c.listen(); err != nil {
		c.w.note("client %s: %v", c.id, err)
		return
	}
	c.joinUntilIn(ctx)
}

// joinUntilIn joins until a join answers (a lost answer leaves the
// membership unknown, so the client asks again).
func (c *client) joinUntilIn(ctx context.Context) {
	for ctx.Err() == nil && !c.isMember() {
		c.join(ctx)
		if !c.isMember() {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

func (c *client) join(ctx context.Context) {
	addr := c.addr()
	if addr == "" {
		return
	}
	peer := c.w.peer(c.rng)
	op := Op{Kind: OpJoin, Group: c.group, Client: c.id, Worker: c.idx, Peer: peer, Start: time.Now()}
	var resp api.JoinResponse
	err := c.w.api.Do(ctx, peer, "POST", "/v1/groups/"+c.group+"/join", mustJSON(api.JoinRequest{Client: c.id, Addr: addr}), nil, 0, &resp)
	c.w.finish(&op, err)
	if op.OK {
		op.Incarnation, op.Index = resp.Incarnation, resp.Index
	}
	// A join cut short by the end of the run stays in the history with an
	// unknown outcome: it may have committed, and a read may have seen it.
	c.w.hist.Add(op)
	c.mu.Lock()
	if op.OK {
		c.member, c.inc = true, resp.Incarnation
	} else if op.Unknown() {
		c.member = false
	}
	c.mu.Unlock()
}

func (c *client) leave(ctx context.Context) {
	peer := c.w.peer(c.rng)
	op := Op{Kind: OpLeave, Group: c.group, Client: c.id, Worker: c.idx, Peer: peer, Start: time.Now()}
	var resp api.LeaveResponse
	err := c.w.api.Do(ctx, peer, "POST", "/v1/groups/"+c.group+"/leave", mustJSON(api.LeaveRequest{Client: c.id}), nil, 0, &resp)
	c.w.finish(&op, err)
	op.Index = resp.Index
	c.w.hist.Add(op) // cut short by the end of the run: unknown, as a join

	c.mu.Lock()
	c.member = false // left, or unknown: join again
	c.mu.Unlock()
}

func (c *client) read(ctx context.Context) {
	peer := c.w.peer(c.rng)
	op := Op{Kind: OpRead, Group: c.group, Worker: c.idx, Peer: peer, Start: time.Now()}
	var resp api.GroupResponse
	err := c.w.api.Do(ctx, peer, "GET", "/v1/groups/"+c.group+"?consistent", nil, nil, 0, &resp)
	if he := (*api.HTTPError)(nil); errors.As(err, &he) && he.Code == 404 {
		// An unknown group is the empty group (every member left).
		err, resp = nil, api.GroupResponse{Group: c.group, Index: he.Index}
	}
	c.w.finish(&op, err)
	if op.OK {
		op.Index = resp.Index
		op.Members = make([]Member, len(resp.Members))
		for i, m := range resp.Members {
			op.Members[i] = Member{Client: m.Client, Incarnation: m.Incarnation}
		}
	}
	if ctx.Err() != nil && !op.OK {
		return
	}
	c.w.hist.Add(op)
}
