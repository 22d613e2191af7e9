package groupbench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"roster/peer/api"
)

// perHost is the most connections one simulated host keeps to one peer:
// the peers' API accepts 16 at a time from one address.
const perHost = 16

// hosts are simulated client machines: each has a source address of its own
// on the loopback (127.250.B.x), as clients on many machines would, and its
// own connections, at most perHost to each peer. Safe for concurrent use.
type hosts struct {
	cs []*api.GroupsClient
	b  byte // the addresses' third byte
}

// newHosts makes n hosts; where the loopback range cannot be bound, they all
// dial from the default address. Their connections close after each call
// (see newClient).
func newHosts(n int) *hosts {
	h := &hosts{b: byte(1 + rand.IntN(250))}
	for i := range n {
		h.cs = append(h.cs, newClient(h.ip(i)))
	}
	return h
}

// ip returns host i's address, nil where it cannot be bound.
func (h *hosts) ip(i int) net.IP {
	ip := net.IPv4(127, 250, h.b, byte(1+i%250))
	if !canBind(ip) {
		return nil
	}
	return ip
}

// pick returns the host of client i.
func (h *hosts) pick(i int) *api.GroupsClient { return h.cs[i%len(h.cs)] }

// newClient returns a groups client that dials from ip (nil: the default),
// with at most perHost connections to each peer (more calls wait). A
// simulated host (ip set) closes each connection after its call: the peers
// accept few connections from one address that is not a peer (16 at a
// time), and idle kept-alive ones would shut the other calls of that host
// out. (The watchers keep theirs: see watchConn.)
func newClient(ip net.IP) *api.GroupsClient {
	d := &net.Dialer{Timeout: 2 * time.Second}
	if ip != nil {
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return &api.GroupsClient{Timeout: 10 * time.Second, HTTP: &http.Client{Transport: &http.Transport{
		Proxy: nil, MaxConnsPerHost: perHost, MaxIdleConnsPerHost: perHost, IdleConnTimeout: 20 * time.Second,
		DialContext: d.DialContext, DisableKeepAlives: ip != nil,
	}}}
}

func canBind(ip net.IP) bool {
	l, err := net.Listen("tcp4", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// refused reports whether err is a call to try again: one that got no
// answer at all (a connection refused or closed before the answer, as the
// peers' connection caps do), or a 503 (no quorum, or not committed in
// time: a real client tries again after Retry-After).
func refused(err error) bool {
	var he *api.HTTPError
	if errors.As(err, &he) {
		return he.Code == 503
	}
	return err != nil
}

// retrying calls f until it gets an answer other than refused, ctx ends or
// within passes, waiting a little longer each time; it returns f's last
// error and the number of calls refused.
func retrying(ctx context.Context, within time.Duration, f func() error) (int, error) {
	pause := 20 * time.Millisecond
	deadline := time.Now().Add(within)
	for n := 0; ; n++ {
		err := f()
		if !refused(err) || time.Now().After(deadline) || ctx.Err() != nil {
			return n, err
		}
		select {
		case <-ctx.Done():
			return n, fmt.Errorf("%w (after %d calls without an answer)", err, n+1)
		case <-time.After(pause):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}
