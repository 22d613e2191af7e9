package cli

import ucli "github.com/urfave/cli/v2"

func healthCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "health",
		Usage: "(not yet available)",
		Action: func(*ucli.Context) error {
			return ucli.Exit("roster health: not yet supported", ExitUsage)
		},
	}
}
