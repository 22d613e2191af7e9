package lab

import (
	"fmt"
	"strings"
)

// InputError is a problem with what the run was asked to do: a missing or
// malformed compose file, no services, no duration, a service missing from
// its hostsfile, a roster binary that cannot be found. The command line
// exits with status 2 for it. The message is one line.
type InputError struct {
	Msg string
}

func (e *InputError) Error() string { return e.Msg }

// inputErr builds an InputError whose message is forced onto one line.
func inputErr(format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ; ")), " ")
	return &InputError{Msg: msg}
}
