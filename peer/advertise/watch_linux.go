//go:build linux

package advertise

import (
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Watch subscribes to the kernel's notices of the host's addresses and
// links (netlink): the returned channel receives a value soon after one is
// added or removed (several notices may make one value). stop ends the
// subscription and closes nothing else; it may be called once. An error
// means no subscription (callers poll instead).
func Watch() (changes <-chan struct{}, stop func(), err error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, nil, err
	}
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	// A non-blocking descriptor becomes a pollable file: reads wait in the
	// runtime's poller, and Close ends them.
	f := os.NewFile(uintptr(fd), "netlink")
	ch := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			// The notices' contents do not matter: the caller looks at
			// the interfaces. ENOBUFS (notices lost) is a change too.
			if _, err := f.Read(buf); err != nil && !errors.Is(err, unix.ENOBUFS) {
				return
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.Close()
			<-done
		})
	}, nil
}
