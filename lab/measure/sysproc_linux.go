package measure

import "syscall"

// dieWithParent makes the kernel kill a peer process if the bench dies
// without stopping it.
func dieWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
