package command

import (
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"roster/peer/secure"
)

func keygenCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "keygen",
		Usage: "print a new random cluster key (32 bytes, base64) for --encrypt / ROSTER_ENCRYPT",
		Description: "Every peer of a cluster takes the same key: gossip is encrypted with it (AES-GCM) and\n" +
			"   Raft's connections are mutual TLS with certificates only a holder of the key can make.\n" +
			"   Keep it secret; to rotate it see README.md, Security.",
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usageErr("keygen: unexpected argument %q", c.Args().First())
			}
			key, err := secure.GenerateKey()
			if err != nil {
				return ucli.Exit("roster keygen: "+err.Error(), ExitFailure)
			}
			fmt.Fprintln(c.App.Writer, key)
			return nil
		},
	}
}
