//go:build !linux

package groupbench

import (
	"context"
	"errors"
	"time"
)

// connectFloor is Linux's (see floor_linux.go).
func connectFloor(context.Context, string, int, time.Duration) (cpuShare, error) {
	return cpuShare{}, errors.New("the loopback connect floor is measured on Linux only")
}
