//go:build linux

package groupbench

import (
	"context"
	"net/netip"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// connectFloor measures what rate TCP checks a second cost on loopback at
// the least: one thread of the bench makes them to addr (connect, poll, a
// reset by a connect to AF_UNSPEC, on one socket, as an owner's routine
// check does: peer/groups/service/connect_linux.go), in batches once every
// 20 ms, for window, and its own CPU time (getrusage of the thread) is
// returned as a percentage of a core. On loopback that cost holds both
// ends of each handshake (the kernel runs the listener's side inside the
// connecting call), so it is the floor under an owner's figure on this
// machine, which a real network splits between the owner's and the
// clients' machines.
func connectFloor(ctx context.Context, addr string, rate int, window time.Duration) (cpuShare, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return cpuShare{}, err
	}
	sa := &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var r0, r1 syscall.Rusage
	if err := syscall.Getrusage(unix.RUSAGE_THREAD, &r0); err != nil {
		return cpuShare{}, err
	}
	const tick = 20 * time.Millisecond
	per := max(1, rate*int(tick)/int(time.Second))
	t0 := time.Now()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return cpuShare{}, err
	}
	defer syscall.Close(fd)
	unspec := syscall.RawSockaddr{Family: syscall.AF_UNSPEC}
	pfd := make([]unix.PollFd, 1)
	for n := 1; time.Since(t0) < window && ctx.Err() == nil; n++ {
		for range per {
			syscall.Connect(fd, sa)
			pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLOUT}
			unix.Poll(pfd, 100)
			syscall.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&unspec)), unsafe.Sizeof(unspec))
		}
		time.Sleep(time.Until(t0.Add(time.Duration(n) * tick)))
	}
	if err := syscall.Getrusage(unix.RUSAGE_THREAD, &r1); err != nil {
		return cpuShare{}, err
	}
	el := float64(time.Since(t0))
	u := 100 * float64(r1.Utime.Nano()-r0.Utime.Nano()) / el
	k := 100 * float64(r1.Stime.Nano()-r0.Stime.Nano()) / el
	return cpuShare{total: u + k, user: u, system: k}, nil
}
