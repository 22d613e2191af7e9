package detector

import (
	"context"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"roster/peer/hostsfile"
)

// Backoff of the --join attempts while this peer sees no other: from
// joinBackoffMin, doubling, to joinBackoffMax.
const (
	joinBackoffMin = 500 * time.Millisecond
	joinBackoffMax = 10 * time.Second
	// rejoinEvery is how often a peer that has joined joins the target
	// addresses that are no member it sees (new peers, a healed partition).
	rejoinEvery = 10 * time.Second
	// joinFanout bounds the addresses one attempt contacts once this peer
	// sees others (alone, it contacts every one).
	joinFanout = 3
)

// joiner is the state of the --join attempts.
type joiner struct {
	mu      sync.Mutex
	next    time.Time     // no attempt before
	backoff time.Duration // wait after the next failure
	failed  bool          // the last attempt failed (logged once)
	running bool          // an attempt is under way
}

// joinTargets joins the --join targets when it is time: with backoff while
// this peer sees no other, every rejoinEvery after. Called from Run.
func (d *Detector) joinTargets(ctx context.Context) {
	if len(d.cfg.Join) == 0 {
		return
	}
	j := &d.joiner
	j.mu.Lock()
	if j.running || time.Now().Before(j.next) {
		j.mu.Unlock()
		return
	}
	j.running = true
	j.mu.Unlock()
	d.mu.Lock()
	started := d.goLocked(func() {
		ok := d.joinOnce(ctx)
		j.mu.Lock()
		defer j.mu.Unlock()
		j.running = false
		if ok {
			j.backoff, j.next = 0, time.Now().Add(rejoinEvery)
			return
		}
		j.backoff = min(max(2*j.backoff, joinBackoffMin), joinBackoffMax)
		j.next = time.Now().Add(j.backoff)
	})
	d.mu.Unlock()
	if !started {
		j.mu.Lock()
		j.running = false
		j.mu.Unlock()
	}
}

// untilJoinDue returns how long until the next --join attempt is due, at
// most limit (limit when there are no --join targets).
func (d *Detector) untilJoinDue(limit time.Duration) time.Duration {
	if len(d.cfg.Join) == 0 {
		return limit
	}
	j := &d.joiner
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.running {
		return min(joinBackoffMin, limit) // it sets the next attempt when it ends
	}
	return min(max(time.Until(j.next), 0), limit)
}

// joinOnce resolves the --join targets and joins those of their addresses
// that are not members it sees; it reports whether this peer now sees
// another peer. The first failure in a row is logged at warn level, the
// next ones at debug level, and the success after them at info level.
func (d *Detector) joinOnce(ctx context.Context) bool {
	addrs, resolveErr := d.targetAddrs(ctx)
	alone := d.ml.Load().NumMembers() <= 1
	if !alone && len(addrs) > joinFanout {
		rand.Shuffle(len(addrs), func(i, k int) { addrs[i], addrs[k] = addrs[k], addrs[i] })
		addrs = addrs[:joinFanout]
	}
	var err error
	if len(addrs) > 0 {
		joined := make(chan error, 1)
		go func() {
			_, err := d.ml.Load().Join(addrs)
			joined <- err
		}()
		select {
		case err = <-joined:
		case <-d.stop:
			return false
		}
	}
	ok := d.ml.Load().NumMembers() > 1
	j := &d.joiner
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case ok && j.failed:
		d.log.Info("joined through --join", "targets", d.cfg.Join, "members", d.ml.Load().NumMembers())
		j.failed = false
	case !ok && !j.failed:
		if err == nil {
			err = resolveErr
		}
		d.log.Warn("cannot join yet: retrying with backoff (this is logged once)",
			"targets", d.cfg.Join, "addresses", addrs, "error", err, "max_backoff", joinBackoffMax)
		j.failed = true
	case !ok:
		d.log.Debug("join failed", "targets", d.cfg.Join, "addresses", addrs, "error", err)
	}
	return ok
}

// targetAddrs resolves the --join targets to memberlist addresses
// ("ip:port"), without this peer's own and without the members it sees.
// The error is the last failed lookup.
func (d *Detector) targetAddrs(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	seen[d.local.Load().String()] = true
	for _, m := range d.Everyone() {
		seen[net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port)))] = true
	}
	var out []string
	var lastErr error
	for _, t := range d.cfg.Join {
		host, port, err := hostsfile.ParseAddr(t)
		if err != nil {
			lastErr = err
			continue
		}
		if port == 0 {
			port = d.cfg.Port
		}
		var ips []string
		if ip := net.ParseIP(host); ip != nil {
			ips = []string{ip.String()}
		} else {
			lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			ips, err = net.DefaultResolver.LookupHost(lctx, host)
			cancel()
			if err != nil {
				lastErr = err
				continue
			}
		}
		for _, ip := range ips {
			a := net.JoinHostPort(ip, strconv.Itoa(port))
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out, lastErr
}
