//go:build !nolab

package command

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	ucli "github.com/urfave/cli/v2"

	"roster/lab/runner"
)

// interruptible returns a context that SIGINT or SIGTERM cancels, for the
// lab commands that stop their run cleanly on Ctrl-C.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// labError turns a lab run's error into the command's exit: bad input
// (runner.InputError) is ExitUsage, anything else ExitFailure, each printed
// as one line prefixed with the command's name.
func labError(name string, err error) error {
	var ie *runner.InputError
	if errors.As(err, &ie) {
		return ucli.Exit("roster "+name+": "+err.Error(), ExitUsage)
	}
	return ucli.Exit("roster "+name+": "+err.Error(), ExitFailure)
}

// verdict is the exit of a lab command whose run went through: ExitOK when
// it passed, else ExitFailure (the report said why).
func verdict(passed bool) error {
	if passed {
		return nil
	}
	return ucli.Exit("", ExitFailure)
}

// report writes v as indented JSON, or as text with writeText.
func report(w io.Writer, asJSON bool, v any, writeText func(io.Writer) error) error {
	if !asJSON {
		return writeText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
