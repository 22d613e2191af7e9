// Package secure holds the cluster's shared secret and what is built from
// it: the keys (base64 AES keys of 16, 24 or 32 bytes, as memberlist takes
// them), a keyring that can change at run time (install, use, remove, as
// Serf's keyring does), and the TLS configurations that authenticate and
// encrypt Raft's connections, either derived from the keyring (every
// holder of a key can mint a certificate for the cluster; nobody else can)
// or read from CA, certificate and key files.
package secure

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// KeySize is the size of the keys GenerateKey makes (AES-256).
const KeySize = 32

// GenerateKey returns a new random key, base64 encoded.
func GenerateKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// ParseKey decodes a base64 key of 16, 24 or 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("key is not base64 (make one with roster keygen)")
	}
	switch len(b) {
	case 16, 24, 32:
		return b, nil
	}
	return nil, fmt.Errorf("key is %d bytes: want 16, 24 or 32 (make one with roster keygen)", len(b))
}

// ParseKeys decodes a comma-separated list of keys; the first is the
// primary. Duplicates are an error.
func ParseKeys(list string) ([][]byte, error) {
	var keys [][]byte
	seen := map[string]bool{}
	for i, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("key %d of the list is empty", i+1)
		}
		k, err := ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("key %d of the list: %w", i+1, err)
		}
		if seen[string(k)] {
			return nil, fmt.Errorf("key %d of the list (%s) is given twice", i+1, Fingerprint(k))
		}
		seen[string(k)] = true
		keys = append(keys, k)
	}
	return keys, nil
}

// Fingerprint names a key without revealing it: the first 8 hex digits of
// its SHA-256.
func Fingerprint(key []byte) string {
	h := sha256.Sum256(key)
	return hex.EncodeToString(h[:4])
}
