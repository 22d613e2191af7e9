package node

import (
	"fmt"

	"github.com/hashicorp/memberlist"

	"roster/peer/secure"
)

// setupSecurity builds the keyring from the config's keys, and the TLS
// configurations of Raft's connections: from the TLS files when given,
// else derived from the keyring.
func (n *Node) setupSecurity() error {
	cfg := n.cfg
	var err error
	if len(cfg.Keys) > 0 {
		if n.keyring, err = secure.NewKeyring(cfg.Keys); err != nil {
			return fmt.Errorf("--encrypt: %w", err)
		}
	}
	switch {
	case cfg.TLSCA != "":
		if n.tls, err = secure.LoadFiles(cfg.TLSCA, cfg.TLSCert, cfg.TLSKey); err != nil {
			return err
		}
	case n.keyring != nil:
		if n.tls, err = secure.NewDerived(n.keyring, cfg.Name); err != nil {
			return fmt.Errorf("derive TLS from the key: %w", err)
		}
	}
	return nil
}

func (n *Node) memberlistKeyring() *memberlist.Keyring {
	if n.keyring == nil {
		return nil
	}
	return n.keyring.Memberlist()
}

// SetKeys replaces the cluster keys (the first becomes the primary) without
// a restart: new keys are installed, the primary used, the keys no longer
// listed removed, and Raft connections that a removed key authenticated
// are closed. A peer started without a key cannot be given one.
func (n *Node) SetKeys(keys [][]byte) error {
	if n.keyring == nil {
		return fmt.Errorf("this peer runs without a key: restart it with --encrypt to encrypt")
	}
	if err := n.keyring.Set(keys); err != nil {
		return err
	}
	n.log.Info("keys changed", "keys", n.keyring.Fingerprints())
	return nil
}

// KeyFingerprints returns the fingerprints of the installed keys, the
// primary first (none without a key).
func (n *Node) KeyFingerprints() []string {
	if n.keyring == nil {
		return nil
	}
	return n.keyring.Fingerprints()
}
