// Command roster runs a group membership peer, and the lab tools around it.
package main

import (
	"os"

	"roster/command"
)

func main() {
	os.Exit(command.Main(os.Args))
}
