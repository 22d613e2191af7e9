package runner

import "syscall"

// dieWithParent makes the kernel kill the child if the runner dies without
// stopping it (kill -9 of the runner).
func dieWithParent(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}
