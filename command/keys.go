package command

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	ucli "github.com/urfave/cli/v2"

	"roster/peer/node"
	"roster/peer/secure"
)

// clusterKeys reads the cluster keys from --encrypt or --keyring-file
// (not both); none means an open cluster.
func clusterKeys(c *ucli.Context) ([][]byte, error) {
	list, file := c.String("encrypt"), c.String("keyring-file")
	switch {
	case list != "" && file != "":
		return nil, fmt.Errorf("--encrypt and --keyring-file: give one of them")
	case list != "":
		keys, err := secure.ParseKeys(list)
		if err != nil {
			return nil, fmt.Errorf("--encrypt: %w", err)
		}
		return keys, nil
	case file != "":
		return secure.LoadKeyFile(file)
	}
	return nil, nil
}

// reloadKeysOnHUP reads the keyring file again on every SIGHUP and gives
// its keys to the peer; a bad file is reported and changes nothing. The
// returned function stops it.
func reloadKeysOnHUP(n *node.Node, path string) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-ch:
				keys, err := secure.LoadKeyFile(path)
				if err == nil {
					err = n.SetKeys(keys)
				}
				if err != nil {
					n.Logger().Error("keys not changed", "error", err)
					continue
				}
				n.Logger().Warn("keys reloaded", "file", path, "keys", n.KeyFingerprints())
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
		<-finished
	}
}
