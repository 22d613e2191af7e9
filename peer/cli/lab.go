package cli

import ucli "github.com/urfave/cli/v2"

func labCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "lab",
		Usage: "(not yet available)",
		Action: func(*ucli.Context) error {
			return ucli.Exit("roster lab: not yet supported", ExitUsage)
		},
	}
}
