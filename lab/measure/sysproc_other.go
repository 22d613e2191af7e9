//go:build !linux

package measure

import "syscall"

// dieWithParent does nothing here: only Linux offers a parent-death signal.
func dieWithParent(*syscall.SysProcAttr) {}
