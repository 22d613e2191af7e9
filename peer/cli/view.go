package cli

import ucli "github.com/urfave/cli/v2"

func viewCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "view",
		Usage: "(not yet available)",
		Action: func(*ucli.Context) error {
			return ucli.Exit("roster view: not yet supported", ExitUsage)
		},
	}
}
