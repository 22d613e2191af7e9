//go:build !unix

package runner

import (
	"os"
	"os/exec"
	"syscall"
)

// isolate is a no-op without process groups.
func isolate(*exec.Cmd) {}

// signalGroup signals the process pid (there are no process groups here);
// anything but SIGKILL is sent as an interrupt.
func signalGroup(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	if sig == syscall.SIGKILL {
		return p.Kill()
	}
	return p.Signal(os.Interrupt)
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
