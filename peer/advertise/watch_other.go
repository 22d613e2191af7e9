//go:build !linux

package advertise

import "errors"

// Watch is not available on this system: callers poll instead.
func Watch() (changes <-chan struct{}, stop func(), err error) {
	return nil, nil, errors.New("address notices: not supported on this system")
}
