package cli

import ucli "github.com/urfave/cli/v2"

func checkCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "check",
		Usage: "(not yet available)",
		Action: func(*ucli.Context) error {
			return ucli.Exit("roster check: not yet supported", ExitUsage)
		},
	}
}
