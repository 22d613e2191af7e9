package command

import (
	"encoding/json"
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"roster/peer/viewlog"
)

// viewCommand asks a running peer for the view it holds.
func viewCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "view",
		Usage:     "print the committed view a running peer holds, as a view line (or JSON)",
		UsageText: "roster view [--addr HOST:PORT] [--json]",
		Flags: []ucli.Flag{
			apiAddrFlag(),
			&ucli.BoolFlag{Name: "json", Usage: "print the peer's status as JSON"},
		},
		Action: func(c *ucli.Context) error {
			addr, err := apiAddr(c)
			if err != nil {
				return err
			}
			st, err := apiClient(addr).Status(c.Context)
			if err != nil && st.ID == 0 {
				return ucli.Exit("roster view: "+err.Error(), ExitFailure)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			fmt.Fprintln(c.App.Writer, viewlog.FormatView(st.ID, st.View.ID, st.View.Leader, st.View.Members))
			fmt.Fprintf(c.App.Writer, "peer %s (%d) is %s; Raft leader: %d\n", st.Name, st.ID, st.State, st.Leader)
			return nil
		},
	}
}
