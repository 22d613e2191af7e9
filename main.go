// Command roster runs a group membership peer, and the lab tools around it.
package main

import (
	"os"

	"roster/peer/cli"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
