package testkit

import (
	"net"
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
