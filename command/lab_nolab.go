//go:build nolab

package command

import ucli "github.com/urfave/cli/v2"

// labCommand stands in for `roster lab` in builds without the lab (the
// Docker image, built with -tags nolab): the local runner, soak and bench
// need a source checkout.
func labCommand() *ucli.Command {
	return &ucli.Command{
		Name:            "lab",
		Usage:           "not in this build: run `go run . lab ...` from a source checkout",
		HideHelpCommand: true,
		SkipFlagParsing: true,
		Action: func(*ucli.Context) error {
			return usageErr("lab: not in this build (the Docker image leaves the local runner out); run `go run . lab ...` from a source checkout")
		},
	}
}
