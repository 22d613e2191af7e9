//go:build !nolab

package command

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	ucli "github.com/urfave/cli/v2"

	"roster/peer/config"
	"roster/peer/hostsfile"
	"roster/peer/node"
)

// labPeersCommand is `roster lab peers`: many peers in one process, so that
// a small machine can hold a large group (one Go runtime instead of one
// per peer).
func labPeersCommand() *ucli.Command {
	return &ucli.Command{
		Name:         "peers",
		Usage:        "run many hostsfile peers in this one process until Ctrl-C or SIGTERM",
		UsageText:    "roster lab peers -h HOSTSFILE [--except NAME,...] [--stagger D] [--quiet] [--log-level LEVEL]",
		OnUsageError: labUsageError("lab peers"),
		Description: "Starts every peer of the hostsfile (but those --except names) in this process, each bound to\n" +
			"the IP of its hostsfile line with the default ports and a temporary data directory, one every\n" +
			"--stagger; they print their view lines on stderr (--quiet drops them).\n" +
			"lab/measure/idle-leader.sh runs the followers this way and the leader as a process of its own.",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "hostsfile", Aliases: []string{"h"}, Usage: "the hostsfile; every line to run needs an IP", TakesFile: true},
			&ucli.StringSliceFlag{Name: "except", Usage: "names of peers not to run here"},
			&ucli.BoolFlag{Name: "quiet", Usage: "drop the view lines"},
			&ucli.DurationFlag{Name: "stagger", Usage: "wait this long between two peers' starts"},
			&ucli.StringFlag{Name: "log-level", Value: "error", Usage: "diagnostic log level: trace, debug, info, warn, error or off"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usageErr("lab peers: unexpected argument %q", c.Args().First())
			}
			if c.String("hostsfile") == "" {
				return usageErr("lab peers: %v", config.ErrNoHostsfile)
			}
			hf, err := hostsfile.Load(c.String("hostsfile"))
			if err != nil {
				return usageErr("lab peers: %v", err)
			}
			except := c.StringSlice("except")
			var run []hostsfile.Peer
			for _, p := range hf.Peers {
				if slices.Contains(except, p.Name) {
					continue
				}
				if !p.IsIP() {
					return usageErr("lab peers: %s: peer %s has no IP address (each peer here binds its own)", hf.Path, p.Name)
				}
				run = append(run, p)
			}
			dir, err := os.MkdirTemp("", "roster-lab-peers-")
			if err != nil {
				return ucli.Exit("lab peers: "+err.Error(), ExitFailure)
			}
			defer os.RemoveAll(dir)
			views := c.App.ErrWriter
			if c.Bool("quiet") {
				views = io.Discard
			}
			ctx, stop := interruptible()
			defer stop()
			var nodes []*node.Node
			defer func() {
				var wg sync.WaitGroup
				for _, n := range nodes {
					wg.Go(n.Close)
				}
				wg.Wait()
			}()
			for i, p := range run {
				if ctx.Err() != nil {
					return nil
				}
				if d := c.Duration("stagger"); i > 0 && d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return nil
					}
				}
				n, err := node.Start(config.Config{
					Name: p.Name, Hosts: hf, Bind: p.Host,
					RaftPort: config.DefaultRaftPort, GossipPort: config.DefaultGossipPort, APIPort: config.DefaultAPIPort,
					DataDir: filepath.Join(dir, p.Name), Voters: config.DefaultVoters, LogLevel: c.String("log-level"),
					ViewLog: views, DiagLog: c.App.ErrWriter,
				}, node.Options{})
				if err != nil {
					return usageErr("lab peers: peer %s: %v", p.Name, err)
				}
				nodes = append(nodes, n)
			}
			fmt.Fprintf(c.App.ErrWriter, "lab peers: %d peers running\n", len(nodes))
			<-ctx.Done()
			return nil
		},
	}
}
