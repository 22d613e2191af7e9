package command

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"roster/peer/api"
)

// groupsTimeout bounds a query of roster groups / roster group.
const groupsTimeout = 5 * time.Second

// groupsCommand lists the client groups a peer holds.
func groupsCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "groups",
		Usage:     "list the client groups a running peer holds: name, size, index",
		UsageText: "roster groups [--addr HOST:PORT] [--consistent] [--json]",
		Flags:     groupQueryFlags(),
		Action: func(c *ucli.Context) error {
			addr, err := apiAddr(c)
			if err != nil {
				return err
			}
			gc := &api.GroupsClient{Addrs: []string{addr}, Timeout: groupsTimeout, Header: tokenHeader()}
			res, err := gc.Groups(c.Context, api.ReadQuery{Consistent: c.Bool("consistent")})
			if err != nil {
				return ucli.Exit("roster groups: "+err.Error(), ExitFailure)
			}
			if c.Bool("json") {
				return printJSON(c, res)
			}
			names := make([]string, 0, len(res.Groups))
			for n := range res.Groups {
				names = append(names, n)
			}
			slices.Sort(names)
			w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "GROUP\tSIZE\tINDEX")
			for _, n := range names {
				fmt.Fprintf(w, "%s\t%d\t%d\n", n, res.Groups[n].Size, res.Groups[n].Index)
			}
			return w.Flush()
		},
	}
}

// groupCommand lists the members of one client group.
func groupCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "group",
		Usage:     "list the members of a client group as a running peer holds it",
		UsageText: "roster group [--addr HOST:PORT] [--consistent] [--json] GROUP (flags before the name)",
		Flags:     groupQueryFlags(),
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usageErr("group: want one group name (roster group GROUP)")
			}
			name := c.Args().First()
			if err := api.ValidateID("group", name); err != nil {
				return usageErr("group: %v", err)
			}
			addr := c.String("addr")
			gc := &api.GroupsClient{Addrs: []string{addr}, Timeout: groupsTimeout, Header: tokenHeader()}
			res, err := gc.Group(c.Context, name, api.ReadQuery{Consistent: c.Bool("consistent")})
			if err != nil {
				return ucli.Exit("roster group: "+err.Error(), ExitFailure)
			}
			if c.Bool("json") {
				return printJSON(c, res)
			}
			w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CLIENT\tADDR\tINCARNATION\tOWNER")
			for _, m := range res.Members {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", m.Client, m.Addr, m.Incarnation, strconv.Itoa(m.Owner))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "group %s: %d members at index %d\n", res.Group, len(res.Members), res.Index)
			return nil
		},
	}
}

func groupQueryFlags() []ucli.Flag {
	return []ucli.Flag{
		apiAddrFlag(),
		&ucli.BoolFlag{Name: "consistent", Usage: "read through the leader (linearizable)"},
		&ucli.BoolFlag{Name: "json", Usage: "print the peer's answer as JSON"},
	}
}

func printJSON(c *ucli.Context, v any) error {
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
