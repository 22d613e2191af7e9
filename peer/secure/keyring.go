package secure

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/memberlist"
)

// Keyring is the cluster's keys: memberlist's keyring (gossip is encrypted
// with the primary key and decrypted with any), plus watchers told of every
// change (Raft's TLS follows the same keys). Safe for concurrent use.
type Keyring struct {
	ml *memberlist.Keyring

	mu       sync.Mutex
	watchers []func()
}

// NewKeyring returns a keyring holding keys, the first primary.
func NewKeyring(keys [][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("no keys")
	}
	ml, err := memberlist.NewKeyring(keys, keys[0])
	if err != nil {
		return nil, err
	}
	return &Keyring{ml: ml}, nil
}

// Memberlist returns the memberlist keyring behind this one.
func (k *Keyring) Memberlist() *memberlist.Keyring { return k.ml }

// Keys returns the installed keys, the primary first.
func (k *Keyring) Keys() [][]byte { return k.ml.GetKeys() }

// Primary returns the key new messages and certificates use.
func (k *Keyring) Primary() []byte { return k.ml.GetPrimaryKey() }

// Fingerprints returns the fingerprints of the installed keys, primary first.
func (k *Keyring) Fingerprints() []string {
	var out []string
	for _, key := range k.Keys() {
		out = append(out, Fingerprint(key))
	}
	return out
}

// Watch registers f to be called (from the goroutine that changed the
// keyring) after every change.
func (k *Keyring) Watch(f func()) {
	k.mu.Lock()
	k.watchers = append(k.watchers, f)
	k.mu.Unlock()
}

func (k *Keyring) changed() {
	k.mu.Lock()
	ws := append([]func(){}, k.watchers...)
	k.mu.Unlock()
	for _, f := range ws {
		f()
	}
}

// Install adds a key that is accepted but not used yet.
func (k *Keyring) Install(key []byte) error {
	if err := k.ml.AddKey(key); err != nil {
		return err
	}
	k.changed()
	return nil
}

// Use makes an installed key the primary.
func (k *Keyring) Use(key []byte) error {
	if err := k.ml.UseKey(key); err != nil {
		return err
	}
	k.changed()
	return nil
}

// Remove removes an installed key that is not the primary.
func (k *Keyring) Remove(key []byte) error {
	if err := k.ml.RemoveKey(key); err != nil {
		return err
	}
	k.changed()
	return nil
}

// Set replaces the keys with keys, the first primary, in the order that
// keeps every message readable: install the new ones, use the primary,
// remove the ones no longer listed.
func (k *Keyring) Set(keys [][]byte) error {
	if len(keys) == 0 {
		return fmt.Errorf("no keys")
	}
	have := map[string]bool{}
	for _, key := range k.Keys() {
		have[string(key)] = true
	}
	want := map[string]bool{}
	for _, key := range keys {
		want[string(key)] = true
		if !have[string(key)] {
			if err := k.ml.AddKey(key); err != nil {
				return err
			}
		}
	}
	if err := k.ml.UseKey(keys[0]); err != nil {
		return err
	}
	for key := range have {
		if !want[key] {
			if err := k.ml.RemoveKey([]byte(key)); err != nil {
				return err
			}
		}
	}
	k.changed()
	return nil
}

// LoadKeyFile reads a keyring file: one base64 key a line, the first the
// primary; blank lines and '#' comments are skipped. Errors name the file
// and line.
func LoadKeyFile(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring file %s: %w", path, unwrapPath(err))
	}
	var keys [][]byte
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		k, err := ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("keyring file %s:%d: %w", path, line, err)
		}
		if seen[string(k)] {
			return nil, fmt.Errorf("keyring file %s:%d: key %s given twice", path, line, Fingerprint(k))
		}
		seen[string(k)] = true
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("keyring file %s: no keys", path)
	}
	return keys, nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
