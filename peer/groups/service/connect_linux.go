//go:build linux

package service

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// connectCheck checks a client at IP:port with the fewest system calls: a
// non-blocking socket, connect, poll(2) for the outcome on this thread
// (bounded by deadline; SO_ERROR only on a failure), then a reset (SO_LINGER 0: no TIME_WAIT
// for thousands of checks a minute). It skips the net package's machinery
// (the runtime poller's registration and five more system calls a
// connection), which halves an owner's CPU per check. handled is false
// when addr is not IP:port (a host name): the caller dials it instead.
// Safe for concurrent use; it blocks its goroutine's thread until the
// outcome or the deadline. The owner's routine checks use connector
// instead, which blocks nothing.
func connectCheck(addr string, deadline time.Time) (handled bool, err error) {
	tg, ok := parseTarget(addr)
	if !ok {
		return false, nil
	}
	if deadline.IsZero() {
		deadline = time.Now().Add(time.Second)
	}
	if time.Until(deadline) <= 0 {
		return true, fmt.Errorf("connect %s: no time left", addr)
	}
	fd, done, err := tg.connect()
	if done {
		if err != nil {
			return true, fmt.Errorf("connect %s: %w", addr, err)
		}
		resetOpen(fd)
		return true, nil
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		left := time.Until(deadline)
		if left <= 0 {
			syscall.Close(fd)
			return true, fmt.Errorf("connect %s: no answer in time", addr)
		}
		n, err := unix.Poll(pfd, int(left.Milliseconds())+1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			syscall.Close(fd)
			return true, fmt.Errorf("connect %s: poll: %w", addr, err)
		}
		if n > 0 {
			break
		}
	}
	if err := connectErr(fd, pfd[0].Revents); err != nil {
		syscall.Close(fd)
		return true, fmt.Errorf("connect %s: %w", addr, err)
	}
	resetOpen(fd)
	return true, nil
}

// target is a check address parsed once: the socket address of a raw
// connect. The zero target is not usable (see parseTarget).
type target struct {
	family int
	sa     syscall.Sockaddr
	// raw and rawLen are the address as connect(2) takes it.
	raw    unsafe.Pointer
	rawLen uintptr
}

// parseTarget parses IP:port (no zone); ok is false for anything else (a
// host name, an http:// address): those are dialled.
func parseTarget(addr string) (target, bool) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || ap.Addr().Zone() != "" {
		return target{}, false
	}
	ip, port := ap.Addr().Unmap(), ap.Port()
	if ip.Is4() {
		r := &syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: ip.As4()}
		putPort(&r.Port, port)
		sa := &syscall.SockaddrInet4{Port: int(port), Addr: ip.As4()}
		return target{syscall.AF_INET, sa, unsafe.Pointer(r), unsafe.Sizeof(*r)}, true
	}
	r := &syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: ip.As16()}
	putPort(&r.Port, port)
	sa := &syscall.SockaddrInet6{Port: int(port), Addr: ip.As16()}
	return target{syscall.AF_INET6, sa, unsafe.Pointer(r), unsafe.Sizeof(*r)}, true
}

// putPort stores port in network byte order.
func putPort(dst *uint16, port uint16) {
	p := (*[2]byte)(unsafe.Pointer(dst))
	p[0], p[1] = byte(port>>8), byte(port)
}

// connectRaw connects fd to tg, or disconnects it when tg is nil. It makes
// the system call without telling the Go scheduler (RawSyscall), as the
// call never blocks (a non-blocking socket): an owner that announced each
// of its 4,000 calls a second would invite the runtime to hand its P to
// another thread meanwhile (about a sixth of its CPU at 10,000 clients).
func connectRaw(fd int, tg *target) syscall.Errno {
	addr, n := unsafe.Pointer(&unspec), unsafe.Sizeof(unspec)
	if tg != nil {
		addr, n = tg.raw, tg.rawLen
	}
	_, _, e := syscall.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(addr), n)
	return e
}

// zeroTime is ppoll's timeout for "do not wait".
var zeroTime unix.Timespec

// pollNow polls fds without waiting (a raw call, as connectRaw's).
func pollNow(fds []unix.PollFd) syscall.Errno {
	if len(fds) == 0 {
		return 0
	}
	_, _, e := syscall.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)), uintptr(unsafe.Pointer(&zeroTime)), 0, 0, 0)
	return e
}

// connect opens a non-blocking socket and starts connecting it. done is
// true when the outcome is already known (err nil: connected, and fd is
// open; otherwise fd is closed); else fd is open and the connect in
// progress.
func (tg target) connect() (fd int, done bool, err error) {
	fd, err = syscall.Socket(tg.family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, true, fmt.Errorf("socket: %w", err)
	}
	switch err = syscall.Connect(fd, tg.sa); err {
	case nil:
		return fd, true, nil
	case syscall.EINPROGRESS, syscall.EINTR:
		return fd, false, nil
	}
	syscall.Close(fd)
	return -1, true, err
}

// connectErr returns a finished connect's error from its poll events: nil
// when writable without an error (connected).
func connectErr(fd int, revents int16) error {
	if revents&(unix.POLLERR|unix.POLLHUP) == 0 {
		return nil
	}
	soerr, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
	if err != nil {
		return err
	}
	if soerr == 0 {
		soerr = int(syscall.ECONNRESET)
	}
	return syscall.Errno(soerr)
}

// resetLinger is SO_LINGER 0: a close resets the connection.
var resetLinger = syscall.Linger{Onoff: 1, Linger: 0}

// resetOpen closes a connected socket with a reset rather than a normal
// close: an owner makes thousands of checks a minute, and a normal close
// would leave each in TIME_WAIT.
func resetOpen(fd int) {
	syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &resetLinger)
	syscall.Close(fd)
}

// fastConnect reports whether this platform has connector.
const fastConnect = true

// connector runs many connect checks at once from one goroutine and never
// blocks it: start connects a non-blocking socket; collect gathers the
// outcomes of every connect in flight with one poll(2) of timeout 0, and
// ends those past their deadline. An owner calls both once a tick from its
// scheduler. A socket is not closed after its check but disconnected
// (connect to AF_UNSPEC: a reset, as SO_LINGER 0 and close would send, and
// no TIME_WAIT) and kept for the next check, so that a routine check costs
// two system calls and a share of a poll, all three raw (see connectRaw):
// no goroutine, no thread blocked, no allocation once its slices have
// grown, no socket made or freed (on loopback, 15 % less CPU than socket,
// connect, setsockopt, close). A
// connect on a LAN ends within the tick; one that does not is collected at
// a later tick, so a verdict may come up to a tick after the outcome (and a
// timeout up to a tick after its deadline). Not safe for concurrent use.
type connector struct {
	flight []inFlight
	pfds   []unix.PollFd
	// free holds disconnected sockets, IPv4 ones at 0 and IPv6 at 1.
	free [2][]int
}

// maxFree bounds the sockets a connector keeps per family: about the
// connects of a tick at an owner of 20,000 clients.
const maxFree = 256

// inFlight is one connect in progress.
type inFlight struct {
	fd       int
	family   int
	t        *tracked
	inc      uint64
	final    bool
	deadline time.Time
}

func freeList(family int) int {
	if family == syscall.AF_INET6 {
		return 1
	}
	return 0
}

// start starts checking t (incarnation inc) at tg; done is true when the
// outcome is already known (then ok is it), else collect reports it.
func (c *connector) start(tg target, t *tracked, inc uint64, final bool, deadline time.Time) (done, ok bool) {
	fl := &c.free[freeList(tg.family)]
	fd := -1
	if n := len(*fl); n > 0 {
		fd, *fl = (*fl)[n-1], (*fl)[:n-1]
	} else {
		var err error
		fd, err = syscall.Socket(tg.family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return true, false
		}
	}
	switch err := connectRaw(fd, &tg); err {
	case syscall.EINPROGRESS, syscall.EINTR:
		c.flight = append(c.flight, inFlight{fd: fd, family: tg.family, t: t, inc: inc, final: final, deadline: deadline})
		return false, false
	case 0:
		c.release(fd, tg.family)
		return true, true
	default:
		// Refused at once, no route, no port left: a socket in a state
		// this did not foresee must not fail the next client's check too.
		syscall.Close(fd)
		return true, false
	}
}

// unspec is the address that disconnects a socket (connect(2)).
var unspec = syscall.RawSockaddr{Family: syscall.AF_UNSPEC}

// release disconnects fd (a reset if it connected, an abort if it was
// still connecting) and keeps it for another check, or closes it.
func (c *connector) release(fd, family int) {
	fl := &c.free[freeList(family)]
	if len(*fl) < maxFree {
		if connectRaw(fd, nil) == 0 {
			*fl = append(*fl, fd)
			return
		}
	}
	resetOpen(fd)
}

// collect reports to finish every connect in flight that connected,
// failed, or passed its deadline by now (a failure), and releases its
// socket.
func (c *connector) collect(now time.Time, finish func(f inFlight, ok bool)) {
	if len(c.flight) == 0 {
		return
	}
	c.pfds = c.pfds[:0]
	for _, f := range c.flight {
		c.pfds = append(c.pfds, unix.PollFd{Fd: int32(f.fd), Events: unix.POLLOUT})
	}
	if pollNow(c.pfds) != 0 {
		// EINTR or ENOMEM: nothing learnt; deadlines still apply.
		for i := range c.pfds {
			c.pfds[i].Revents = 0
		}
	}
	keep := c.flight[:0]
	for i, f := range c.flight {
		switch ev := c.pfds[i].Revents; {
		case ev != 0:
			ok := ev&(unix.POLLERR|unix.POLLHUP) == 0
			c.release(f.fd, f.family)
			finish(f, ok)
		case !now.Before(f.deadline):
			c.release(f.fd, f.family)
			finish(f, false)
		default:
			keep = append(keep, f)
		}
	}
	clear(c.flight[len(keep):])
	c.flight = keep
}

// pending returns the number of connects in flight.
func (c *connector) pending() int { return len(c.flight) }

// closeAll abandons every connect in flight and closes every socket.
func (c *connector) closeAll() {
	for _, f := range c.flight {
		syscall.Close(f.fd)
	}
	clear(c.flight)
	c.flight = c.flight[:0]
	for i := range c.free {
		for _, fd := range c.free[i] {
			syscall.Close(fd)
		}
		c.free[i] = c.free[i][:0]
	}
}
