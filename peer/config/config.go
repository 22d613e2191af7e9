// Package config holds the settings of one roster peer, with their defaults
// and validation. A Config is filled by the command line (or a test), checked
// with Validate, and then read-only: share it freely between goroutines.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"roster/peer/hostsfile"
)

// Default ports; each can be overridden.
const (
	DefaultRaftPort   = 8080
	DefaultGossipPort = 8081
	DefaultAPIPort    = 8082
	DefaultVoters     = 5
)

// Client groups defaults (--client-interval, --client-misses).
const (
	// DefaultClientInterval is how often an owner checks each client.
	DefaultClientInterval = 5 * time.Second
	// DefaultClientMisses is how many checks in a row a client may miss
	// before its owner removes it.
	DefaultClientMisses = 3
)

// AddrCheck modes.
const (
	AddrCheckAuto = "auto"
	AddrCheckOn   = "on"
	AddrCheckOff  = "off"
)

// ErrNoHostsfile says a peer was started without a hostsfile.
var ErrNoHostsfile = errors.New("a hostsfile is required: -h FILE (or --join NAME to find the peers by DNS)")

// Config is everything a peer needs to start.
type Config struct {
	// Name is this peer's name in the hostsfile.
	Name string
	// Hosts is the parsed hostsfile.
	Hosts *hostsfile.File
	// Self is this peer's line of the hostsfile (set by Validate); a peer
	// outside the hostsfile (with Join) has ID 0 until the cluster's
	// registry gives it one.
	Self hostsfile.Peer
	// Join are the --join targets: DNS names whose addresses are peers (a
	// scaled compose service, Swarm's tasks.SERVICE, a Kubernetes headless
	// service), or addresses (host or host:port). With Join, peers outside
	// the hostsfile are admitted and get their ids by consensus, and the
	// hostsfile may be absent.
	Join []string
	// BootstrapExpect, without a hostsfile, is how many peers a new
	// cluster waits for: once this peer sees that many, none of them in a
	// cluster, and its name is the lowest of them for bootstrapSettle, it
	// bootstraps. 0: this peer never bootstraps, it only joins.
	BootstrapExpect int

	// Bind is the IP to listen on ("" or "0.0.0.0" for all interfaces).
	Bind string
	// Advertise is the IP other peers reach this one at ("" to choose one
	// as package advertise says: Bind, else the local address this peer's
	// name resolves to, else the one routing to the other peers).
	Advertise string

	// APIToken, if set, is required by every state-changing API request;
	// APITokenReads requires it on reads too (see api.Limits).
	APIToken      string
	APITokenReads bool

	RaftPort   int // TCP, Raft
	GossipPort int // UDP and TCP, memberlist
	APIPort    int // TCP, HTTP API; 0 disables the API

	// DataDir holds Raft's state on disk; "" keeps it in memory, gone when
	// the process ends (a restarted peer is a new life either way).
	DataDir string
	// Voters caps the number of Raft voters (odd, at least 1).
	Voters int
	// ClientInterval is how often the owner of a client checks it (0: the
	// default); ClientMisses how many checks in a row it may miss (0: the
	// default).
	ClientInterval time.Duration
	ClientMisses   int
	// Keys are the cluster's shared keys (AES, 16, 24 or 32 bytes), the
	// first the primary; none leaves the cluster open to anyone on the
	// network. They encrypt gossip and authenticate Raft (see peer/secure).
	Keys [][]byte
	// TLSCA, TLSCert and TLSKey are PEM files (all or none): Raft's
	// connections use them instead of certificates derived from Keys, and
	// the API serves HTTPS.
	TLSCA, TLSCert, TLSKey string
	// AddrCheck says whether a peer must come from its hostsfile address
	// (or what its name resolves to): AddrCheckAuto (on without Keys or
	// TLS files, when nothing else says who a peer is), AddrCheckOn or
	// AddrCheckOff.
	AddrCheck string

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
	for _, j := range c.Join {
		if _, _, err := hostsfile.ParseAddr(j); err != nil || j == "" {
			return fmt.Errorf("--join %q: want a DNS name or an address, with an optional :port (%v)", j, err)
		}
	}
	if c.Hosts == nil {
		if len(c.Join) == 0 {
			return ErrNoHostsfile
		}
		c.Hosts = hostsfile.Empty()
	}
	if c.Name == "" {
		return fmt.Errorf("this peer has no name (use --name)")
	}
	if err := hostsfile.CheckName(c.Name); err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	self, err := c.Hosts.Lookup(c.Name)
	if err != nil && len(c.Join) == 0 {
		return err
	}
	if err != nil {
		self = hostsfile.Peer{Name: c.Name} // its id comes from the registry
	}
	c.Self = self
	if c.BootstrapExpect < 0 || c.BootstrapExpect > 1000 {
		return fmt.Errorf("--bootstrap-expect %d: want 0 to 1000", c.BootstrapExpect)
	}
	if c.BootstrapExpect > 0 && len(c.Hosts.Peers) > 0 {
		return fmt.Errorf("--bootstrap-expect is for clusters without a hostsfile (with one, its first peer bootstraps)")
	}
	if c.BootstrapExpect > 0 && len(c.Join) == 0 {
		return fmt.Errorf("--bootstrap-expect needs --join (how the peers find each other)")
	}
	if len(c.Join) > 0 && c.AddrCheck == AddrCheckOn {
		return fmt.Errorf("--addr-check on needs every peer in the hostsfile: --join admits peers by name (use --encrypt to say who may join)")
	}
	for _, a := range []struct{ flag, v string }{{"--bind", c.Bind}, {"--advertise", c.Advertise}} {
		if a.v != "" && net.ParseIP(a.v) == nil {
			return fmt.Errorf("%s %q: want an IP address, like 10.0.0.5 (names are not looked up)", a.flag, a.v)
		}
	}
	if err := CheckToken(c.APIToken); err != nil {
		return err
	}
	if c.APITokenReads && c.APIToken == "" {
		return errors.New("--api-token-reads needs --api-token (or ROSTER_API_TOKEN)")
	}
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
	if n := btoi(c.TLSCA != "") + btoi(c.TLSCert != "") + btoi(c.TLSKey != ""); n != 0 && n != 3 {
		return fmt.Errorf("--tls-ca, --tls-cert and --tls-key go together")
	}
	switch c.AddrCheck {
	case "":
		c.AddrCheck = AddrCheckAuto
	case AddrCheckAuto, AddrCheckOn, AddrCheckOff:
	default:
		return fmt.Errorf("--addr-check %q: want auto, on or off", c.AddrCheck)
	}
	if c.Voters < 1 {
		return fmt.Errorf("--voters %d: want at least 1", c.Voters)
	}
	if c.ClientInterval == 0 {
		c.ClientInterval = DefaultClientInterval
	}
	if c.ClientMisses == 0 {
		c.ClientMisses = DefaultClientMisses
	}
	if c.ClientInterval < 10*time.Millisecond || c.ClientInterval > time.Hour {
		return fmt.Errorf("--client-interval %s: want 10ms to 1h", c.ClientInterval)
	}
	if c.ClientMisses < 1 || c.ClientMisses > 1000 {
		return fmt.Errorf("--client-misses %d: want 1 to 1000", c.ClientMisses)
	}
	return nil
}

// MinTokenLen is the shortest API token accepted.
const MinTokenLen = 16

// CheckToken checks an API token: "" (none), or at least MinTokenLen
// printable ASCII characters without spaces.
func CheckToken(t string) error {
	if t == "" {
		return nil
	}
	if len(t) < MinTokenLen {
		return fmt.Errorf("--api-token: want at least %d characters, got %d", MinTokenLen, len(t))
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] > '~' {
			return fmt.Errorf("--api-token: want printable ASCII without spaces (character %d is not)", i+1)
		}
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

// Secured reports whether the cluster authenticates its members (a key or
// TLS files).
func (c *Config) Secured() bool { return len(c.Keys) > 0 || c.TLSCA != "" }

// CheckAddrs reports whether peers must come from their hostsfile addresses.
func (c *Config) CheckAddrs() bool {
	switch c.AddrCheck {
	case AddrCheckOn:
		return true
	case AddrCheckOff:
		return false
	}
	return !c.Secured() && len(c.Join) == 0
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
