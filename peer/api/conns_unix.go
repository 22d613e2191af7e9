//go:build unix

package api

import "syscall"

// connsTotal caps concurrent connections from addresses that are not
// peers. Client groups hold one per watching client (a blocking query) and
// one per join in flight, so it is sized by the open files this process may
// have: a quarter of them, from 64 to 4,096.
func connsTotal() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 64
	}
	return int(min(max(lim.Cur/4, 64), 4096))
}
