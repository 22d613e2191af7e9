package groupbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"roster/lab/stats"
	"roster/peer/api"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat's times.
const clockTicks = 100

// cpuTime returns the CPU time (user + system) process pid has used.
func cpuTime(pid int) (time.Duration, error) {
	u, k, err := cpuTimes(pid)
	return u + k, err
}

// cpuTimes returns the user and the system CPU time process pid has used
// (its threads', as top and ps count them: /proc/PID/stat).
func cpuTimes(pid int) (user, system time.Duration, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	// After the command: state is field 3, utime 14 and stime 15.
	if len(f) < 13 {
		return 0, 0, errors.New("short /proc stat")
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	k, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, errors.New("unreadable /proc stat times")
	}
	return time.Duration(u) * time.Second / clockTicks, time.Duration(k) * time.Second / clockTicks, nil
}

// cpuShare is a process's CPU over a window, in percent of one core.
type cpuShare struct{ total, user, system float64 }

// corePercent measures peer 0's CPU over window: the peer process's own
// CPU time (/proc), as its user would see it in top. The simulated
// clients that answer its checks are the bench's listeners, in the bench's
// process, and are not counted; on loopback, though, the kernel runs both
// ends of a TCP handshake inside the connecting process's system calls,
// so the peer's system time includes the clients' side of the handshake
// (see connectFloor).
func (b *bench) corePercent(ctx context.Context, window time.Duration) (cpuShare, error) {
	pid, ok := b.cl.Pid(0)
	if !ok {
		return cpuShare{}, errors.New("the peer is not running")
	}
	u0, k0, err := cpuTimes(pid)
	if err != nil {
		return cpuShare{}, err
	}
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return cpuShare{}, ctx.Err()
	case <-time.After(window):
	}
	u1, k1, err := cpuTimes(pid)
	if err != nil {
		return cpuShare{}, err
	}
	el := float64(time.Since(t0))
	u, k := 100*float64(u1-u0)/el, 100*float64(k1-k0)/el
	return cpuShare{total: u + k, user: u, system: k}, nil
}

// joinMany joins the clients ids[i] to groups[i], 200 at a time (a call
// refused or without an answer is tried again: joins are idempotent).
func (b *bench) joinMany(ctx context.Context, ids, groups []string) error {
	sem := make(chan struct{}, 200)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := retrying(ctx, time.Minute, func() error {
				_, err := b.join(ctx, 0, groups[i], ids[i], b.checks.addr())
				return err
			})
			if err == nil {
				return
			}
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return first
}

// members counts the members of the groups whose names start with prefix,
// as the peer serves them.
func (b *bench) members(ctx context.Context, prefix string) (int, error) {
	var gs api.GroupsResponse
	if err := b.api.Do(ctx, b.cl.Addrs()[0], "GET", "/v1/groups", nil, nil, 0, &gs); err != nil {
		return 0, err
	}
	n := 0
	for name, g := range gs.Groups {
		if strings.HasPrefix(name, prefix) {
			n += g.Size
		}
	}
	return n, nil
}

// settle checks that the peer serves want members in the groups of prefix.
func (b *bench) settle(ctx context.Context, prefix string, want int) error {
	got, err := b.members(ctx, prefix)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("the peer serves %d members in groups %s*, want %d", got, prefix, want)
	}
	return nil
}

// ownerCPU measures a one-peer cluster (the peer owns every client): idle,
// then with each number of clients in one group, then with the largest
// number spread over each number of groups.
func (b *bench) ownerCPU(ctx context.Context, counts, groupCounts []int, window time.Duration, each func(CPUPoint)) ([]CPUPoint, error) {
	var pts []CPUPoint
	add := func(p CPUPoint) {
		pts = append(pts, p)
		if each != nil {
			each(p)
		}
	}
	idle, err := b.corePercent(ctx, window)
	if err != nil {
		return pts, err
	}
	add(cpuPoint(0, 0, idle, 0))
	counts = slices.Sorted(slices.Values(counts))
	have := 0
	var ids, groups []string
	for _, n := range counts {
		var more, in []string
		for have < n {
			more = append(more, b.id("cpu"))
			in = append(in, "cpu-1")
			have++
		}
		t := time.Now()
		if err := b.joinMany(ctx, more, in); err != nil {
			return pts, err
		}
		joined := stats.Ms(time.Since(t))
		ids, groups = append(ids, more...), append(groups, in...)
		if err := b.settle(ctx, "cpu-1", n); err != nil {
			return pts, err
		}
		pct, err := b.corePercent(ctx, window)
		if err != nil {
			return pts, err
		}
		add(cpuPoint(n, 1, pct, joined))
	}
	if len(counts) == 0 {
		return pts, nil
	}
	n := counts[len(counts)-1]
	for _, g := range groupCounts {
		if g <= 1 {
			continue
		}
		// The same number of clients, new ones, spread over g groups; the
		// old ones leave first.
		if err := b.leaveMany(ctx, ids, groups); err != nil {
			return pts, err
		}
		ids, groups = nil, nil
		for i := range n {
			ids = append(ids, b.id("cpu"))
			groups = append(groups, fmt.Sprintf("cpu-g%d-%d", g, i%g))
		}
		t := time.Now()
		if err := b.joinMany(ctx, ids, groups); err != nil {
			return pts, err
		}
		joined := stats.Ms(time.Since(t))
		if err := b.settle(ctx, fmt.Sprintf("cpu-g%d-", g), n); err != nil {
			return pts, err
		}
		pct, err := b.corePercent(ctx, window)
		if err != nil {
			return pts, err
		}
		add(cpuPoint(n, g, pct, joined))
	}
	return pts, nil
}

func cpuPoint(clients, groups int, c cpuShare, joined float64) CPUPoint {
	return CPUPoint{Clients: clients, Groups: groups, CorePercent: c.total, UserPercent: c.user, SystemPercent: c.system, JoinAllMs: joined}
}

// leaveMany has the clients ids[i] leave groups[i], 200 at a time (tried
// again like joins).
func (b *bench) leaveMany(ctx context.Context, ids, groups []string) error {
	sem := make(chan struct{}, 200)
	var wg sync.WaitGroup
	var failed sync.Once
	var first error
	for i := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			body := fmt.Appendf(nil, `{"client":%q}`, ids[i])
			_, err := retrying(ctx, time.Minute, func() error {
				return b.api.Do(ctx, b.cl.Addrs()[0], "POST", "/v1/groups/"+groups[i]+"/leave", body, nil, 0, nil)
			})
			if err != nil {
				failed.Do(func() { first = err })
			}
		}()
	}
	wg.Wait()
	return first
}
