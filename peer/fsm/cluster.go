package fsm

import (
	"crypto/rand"
	"encoding/hex"
)

// clusterIDLen is the length of a cluster id: 16 hex digits (64 random bits).
const clusterIDLen = 16

// NewClusterID returns a fresh random cluster id.
func NewClusterID() string {
	var b [clusterIDLen / 2]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	return hex.EncodeToString(b[:])
}

// ValidClusterID reports whether s has the form of a cluster id: 16 lower-case
// hex digits.
func ValidClusterID(s string) bool {
	if len(s) != clusterIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
