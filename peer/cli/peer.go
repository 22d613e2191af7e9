package cli

import (
	ucli "github.com/urfave/cli/v2"
)

func peerFlags() []ucli.Flag { return nil }

func runPeer(c *ucli.Context) error { return usageErr("peer: not yet supported") }
