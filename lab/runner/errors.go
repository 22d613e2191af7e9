package runner

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

// RunError says a run went wrong: a peer failed unexpectedly, the log could
// not be judged or a report could not be written. Problems has one line each.
type RunError struct {
	Problems []string
}

func (e *RunError) Error() string {
	if len(e.Problems) == 0 {
		return "a peer failed"
	}
	return strings.Join(e.Problems, "; ")
}
