// Package config holds the settings of one roster peer, with their defaults
// and validation. A Config is filled by the command line (or a test), checked
// with Validate, and then read-only: share it freely between goroutines.
package config

import (
	"errors"
	"fmt"
	"io"

	"roster/peer/hostsfile"
)

// Default ports; each can be overridden.
const (
	DefaultRaftPort   = 8080
	DefaultGossipPort = 8081
	DefaultAPIPort    = 8082
	DefaultVoters     = 5
)

// ErrNoHostsfile says a peer was started without a hostsfile.
var ErrNoHostsfile = errors.New("a hostsfile is required: -h FILE")

// Config is everything a peer needs to start.
type Config struct {
	// Name is this peer's name in the hostsfile.
	Name string
	// Hosts is the parsed hostsfile.
	Hosts *hostsfile.File
	// Self is this peer's line of the hostsfile (set by Validate).
	Self hostsfile.Peer

	// Bind is the IP to listen on ("" or "0.0.0.0" for all interfaces).
	Bind string
	// Advertise is the IP other peers reach this one at ("" to derive it
	// from Bind, the hostsfile address column, or the interfaces).
	Advertise string

	RaftPort   int // TCP, Raft
	GossipPort int // UDP and TCP, memberlist
	APIPort    int // TCP, HTTP API; 0 disables the API

	// DataDir holds Raft's state on disk; "" keeps it in memory, gone when
	// the process ends (a restarted peer is a new life either way).
	DataDir string
	// Voters caps the number of Raft voters (odd, at least 1).
	Voters int
	// LogLevel is the level of diagnostic logs (trace, debug, info, warn, error, off).
	LogLevel string
	// LogTime puts a timestamp in front of each diagnostic line. Leave it
	// off where the output is stamped already (docker logs -t, journald,
	// the lab runner), so that no line carries two.
	LogTime bool

	// ViewLog receives the view lines (stderr in production).
	ViewLog io.Writer
	// DiagLog receives diagnostic logs (stderr in production).
	DiagLog io.Writer
}

// Validate checks the config, fills Self, and returns an error a user can act on.
func (c *Config) Validate() error {
	if c.Hosts == nil {
		return ErrNoHostsfile
	}
	if c.Name == "" {
		return fmt.Errorf("this peer has no name (use --name)")
	}
	self, err := c.Hosts.Lookup(c.Name)
	if err != nil {
		return err
	}
	c.Self = self
	for _, p := range []struct {
		flag string
		v    int
	}{{"--raft-port", c.RaftPort}, {"--gossip-port", c.GossipPort}} {
		if p.v < 1 || p.v > 65535 {
			return fmt.Errorf("%s %d: want 1-65535", p.flag, p.v)
		}
	}
	if c.APIPort < 0 || c.APIPort > 65535 {
		return fmt.Errorf("--api-port %d: want 0-65535", c.APIPort)
	}
	if c.RaftPort == c.GossipPort || c.RaftPort == c.APIPort || c.GossipPort == c.APIPort {
		return fmt.Errorf("--raft-port, --gossip-port and --api-port must differ (got %d, %d, %d)", c.RaftPort, c.GossipPort, c.APIPort)
	}
	if c.Voters < 1 {
		return fmt.Errorf("--voters %d: want at least 1", c.Voters)
	}
	return nil
}

// MaxVoters returns the voter cap rounded down to an odd number.
func (c *Config) MaxVoters() int {
	if c.Voters%2 == 0 {
		return c.Voters - 1
	}
	return c.Voters
}
