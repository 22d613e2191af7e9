package groupbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"roster/lab/stats"
	"roster/peer/api"
)

// seen is a watcher's blocking query returning with an index.
type seen struct {
	at    time.Time
	index uint64
}

// watch starts watchers blocking on one group (spread over the peers),
// commits changes one at a time, and measures when each watcher saw each.
func (b *bench) watch(ctx context.Context, watchers, changes int) (WatchFigure, error) {
	fig := WatchFigure{Watchers: watchers, Changes: changes}
	const group = "bench-watch"
	first, err := b.join(ctx, 0, group, b.id("w"), b.checks.addr())
	if err != nil {
		return fig, err
	}
	if _, err := b.waitAll(ctx, group, func(g api.GroupResponse) bool { return g.Index >= first.Index }, 10*time.Second); err != nil {
		return fig, err
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	logs := make([][]seen, watchers)
	answered := make([]bool, watchers) // the watcher's query was accepted at least once
	var wg sync.WaitGroup
	var ready atomic.Int64
	for w := range watchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &watchConn{addr: b.cl.Addrs()[w%b.cl.Size()], from: b.hosts.ip(w)}
			defer c.close()
			idx := first.Index
			once := false
			pause := 50 * time.Millisecond
			for wctx.Err() == nil {
				if !once {
					once = true
					ready.Add(1)
				}
				index, at, err := c.read(wctx, group, idx)
				if err != nil {
					if wctx.Err() == nil {
						time.Sleep(pause)
						pause = min(2*pause, 2*time.Second)
					}
					continue
				}
				answered[w], pause = true, 50*time.Millisecond
				if index > idx {
					logs[w] = append(logs[w], seen{at, index})
					idx = index
				}
			}
		}()
	}
	for ready.Load() < int64(watchers) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the last queries reach their peers
	type change struct {
		call, answer time.Time
		index        uint64
	}
	var chs []change
	for range changes {
		t := time.Now()
		r, err := b.join(ctx, rand.IntN(b.cl.Size()), group, b.id("w"), b.checks.addr())
		if err != nil {
			return fig, err
		}
		chs = append(chs, change{t, time.Now(), r.Index})
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	stop()
	wg.Wait()
	var fromAnswer, fromCall []time.Duration
	for _, c := range chs {
		for w := range logs {
			i := slices.IndexFunc(logs[w], func(s seen) bool { return s.index >= c.index })
			if i < 0 {
				fig.Missed++
				continue
			}
			fromCall = append(fromCall, logs[w][i].at.Sub(c.call))
			fromAnswer = append(fromAnswer, max(0, logs[w][i].at.Sub(c.answer)))
		}
	}
	fig.FromAnswer, fig.FromRequest = stats.Of(fromAnswer), stats.Of(fromCall)
	for _, ok := range answered {
		if ok {
			fig.Answered++
		}
	}
	return fig, nil
}

// watchConn is one watcher's connection to its peer, kept from one
// blocking query to the next as a watcher keeps it (roster client does:
// see peer/api/groups_client.go). It speaks HTTP/1.1 itself, one goroutine
// per watcher and no transport around it: the thousand watchers of this one
// process stand for clients on a thousand machines, and their own work
// should take as little as it can of the cores the peers run on. Not safe
// for concurrent use.
type watchConn struct {
	addr string
	from net.IP // the simulated host's address (nil: the default)
	conn net.Conn
	br   *bufio.Reader
}

// read sends one blocking query for group (?index=idx&wait=30s) and returns
// the group's index the answer carries (its X-Roster-Index header) and when
// the whole answer had arrived: that is when the watcher sees the change.
// The body (the group's members) is read in full, not decoded: decoding is
// the watcher's own work, after it has the answer.
func (c *watchConn) read(ctx context.Context, group string, idx uint64) (uint64, time.Time, error) {
	if c.conn == nil {
		d := net.Dialer{Timeout: 2 * time.Second}
		if c.from != nil {
			d.LocalAddr = &net.TCPAddr{IP: c.from}
		}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return 0, time.Time{}, err
		}
		c.conn, c.br = conn, bufio.NewReader(conn)
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Now()) })
	defer stop()
	c.conn.SetDeadline(time.Now().Add(35 * time.Second))
	path := "/v1/groups/" + group + "?index=" + strconv.FormatUint(idx, 10) + "&wait=30s"
	if _, err := io.WriteString(c.conn, "GET "+path+" HTTP/1.1\r\nHost: "+c.addr+"\r\n\r\n"); err != nil {
		c.close()
		return 0, time.Time{}, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return 0, time.Time{}, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	at := time.Now()
	resp.Body.Close()
	if err != nil || resp.Close {
		c.close()
	}
	switch {
	case err != nil:
		return 0, at, err
	case resp.StatusCode != http.StatusOK:
		return 0, at, fmt.Errorf("GET %s%s: %s", c.addr, path, resp.Status)
	}
	index, err := strconv.ParseUint(resp.Header.Get(api.IndexHeader), 10, 64)
	if err != nil {
		return 0, at, fmt.Errorf("GET %s%s: no %s header", c.addr, path, api.IndexHeader)
	}
	return index, at, nil
}

// close closes the connection; the next read dials again.
func (c *watchConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
}
