package testkit

import (
	"net"
	"sync"
	"testing"
)

// ClosingListener returns a TCP listener on 127.0.0.1 that accepts and at
// once closes every connection until the test ends: an address that answers
// a connect, as a live client does. Its goroutine ends when it is closed.
func ClosingListener(t testing.TB) net.Listener {
	t.Helper()
	return ClosingListenerAt(t, "127.0.0.1")
}

// ClosingListenerAt is ClosingListener on ip (any port).
func ClosingListenerAt(t testing.TB, ip string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln
}

// StallingListener returns a TCP listener at addr (host:port) that accepts
// every connection and never answers or closes it: a process that takes
// connections but is too slow to serve them. stop closes the listener and
// the connections it holds (a connect there is then refused); it runs at
// the test's end too, and may be called more than once.
func StallingListener(t testing.TB, addr string) (stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	stop = func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
		held = nil
	}
	t.Cleanup(stop)
	return stop
}
