//go:build linux

package service

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"roster/internal/testkit"
)

func TestConnectCheck(t *testing.T) {
	ln := testkit.ClosingListener(t)
	deadline := time.Now().Add(time.Second)
	if handled, err := connectCheck(ln.Addr().String(), deadline); !handled || err != nil {
		t.Fatalf("an open port: handled %v, %v", handled, err)
	}
	if handled, err := connectCheck("[::1]:1", deadline); !handled || err == nil {
		t.Fatalf("a closed IPv6 port: handled %v, %v; want an error", handled, err)
	}
	handled, err := connectCheck(closedAddr(t), deadline)
	if !handled || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("a closed port: handled %v, %v; want connection refused", handled, err)
	}
	if handled, _ := connectCheck("localhost:80", deadline); handled {
		t.Fatal("a host name was handled: the caller must dial it")
	}
	if _, err := connectCheck(ln.Addr().String(), time.Now().Add(-time.Second)); err == nil {
		t.Fatal("a passed deadline: want an error")
	}
}
