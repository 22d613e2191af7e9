package service

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// probeTimeout bounds one check of a client: a quarter of the interval,
// from 50 ms to 500 ms, so that a client that crashed is removed within
// interval × misses plus well under a second.
func (s *Service) probeTimeout() time.Duration {
	return min(max(s.cfg.Interval/4, 50*time.Millisecond), 500*time.Millisecond)
}

// probe checks a client once: for an http:// address a GET that
// must answer 2xx, for host:port a TCP connect. It returns nil when the
// client answered.
func (s *Service) probe(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if strings.HasPrefix(addr, "http://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr, nil)
		if err != nil {
			return err
		}
		resp, err := s.probeHC.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("GET %s: %s", addr, resp.Status)
		}
		return nil
	}
	if s.cfg.Dial == nil {
		deadline, _ := ctx.Deadline()
		if handled, err := connectCheck(addr, deadline); handled {
			return err
		}
	}
	conn, err := s.probeDialer(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	// Reset rather than close: an owner makes thousands of checks a
	// minute, and a normal close would leave each in TIME_WAIT.
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	return conn.Close()
}
