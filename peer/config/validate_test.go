package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roster/peer/hostsfile"
)

func testHosts(t *testing.T) *hostsfile.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(path, []byte("one\ntwo\nthree\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hf, err := hostsfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return hf
}

func valid(t *testing.T) Config {
	return Config{
		Name: "two", Hosts: testHosts(t),
		RaftPort: DefaultRaftPort, GossipPort: DefaultGossipPort, APIPort: DefaultAPIPort,
		Voters: DefaultVoters, LogLevel: "warn",
	}
}

func TestValidateFillsSelf(t *testing.T) {
	c := valid(t)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Self.ID != 2 || c.Self.Name != "two" {
		t.Fatalf("Self = %+v, want peer 2 named two", c.Self)
	}
}

func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no hostsfile", func(c *Config) { c.Hosts = nil }, "a hostsfile is required: -h FILE"},
		{"no name", func(c *Config) { c.Name = "" }, "no name"},
		{"name not in file", func(c *Config) { c.Name = "nine" }, "nine"},
		{"raft port 0", func(c *Config) { c.RaftPort = 0 }, "--raft-port 0: want 1-65535"},
		{"gossip port too big", func(c *Config) { c.GossipPort = 70000 }, "--gossip-port 70000"},
		{"api port negative", func(c *Config) { c.APIPort = -1 }, "--api-port -1"},
		{"equal ports", func(c *Config) { c.APIPort = c.RaftPort }, "must differ"},
		{"no voters", func(c *Config) { c.Voters = 0 }, "--voters 0"},
	} {
		c := valid(t)
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q is not one line", tc.name, err)
		}
	}
	c := valid(t)
	c.Hosts = nil
	if err := c.Validate(); !errors.Is(err, ErrNoHostsfile) {
		t.Errorf("no hostsfile: %v, want ErrNoHostsfile", err)
	}
}

func TestAPIPortZeroTurnsTheAPIOff(t *testing.T) {
	c := valid(t)
	c.APIPort = 0
	if err := c.Validate(); err != nil {
		t.Fatalf("api port 0: %v", err)
	}
}

func TestMaxVotersIsOdd(t *testing.T) {
	for voters, want := range map[int]int{1: 1, 2: 1, 3: 3, 4: 3, 5: 5, 6: 5} {
		c := Config{Voters: voters}
		if got := c.MaxVoters(); got != want {
			t.Errorf("MaxVoters with --voters %d = %d, want %d", voters, got, want)
		}
	}
}

func TestValidateJoin(t *testing.T) {
	// A name outside the hostsfile is admitted with --join: its id comes later.
	c := valid(t)
	c.Name, c.Join = "nine", []string{"peers.example", "10.0.0.1:7946"}
	if err := c.Validate(); err != nil || c.Self.ID != 0 || c.Self.Name != "nine" {
		t.Fatalf("joiner: %v, Self %+v", err, c.Self)
	}
	if c.CheckAddrs() {
		t.Errorf("--addr-check auto is on with --join: peers outside the hostsfile would be refused")
	}
	// No hostsfile at all: an empty one.
	c = valid(t)
	c.Hosts, c.Join, c.BootstrapExpect = nil, []string{"peers"}, 3
	if err := c.Validate(); err != nil || c.Hosts == nil || len(c.Hosts.Peers) != 0 {
		t.Fatalf("no hostsfile: %v, hosts %+v", err, c.Hosts)
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"bad target", func(c *Config) { c.Join = []string{"a b"} }, `--join "a b"`},
		{"empty target", func(c *Config) { c.Join = []string{""} }, `--join ""`},
		{"bad port", func(c *Config) { c.Join = []string{"peers:0"} }, `--join "peers:0"`},
		{"expect with a hostsfile", func(c *Config) { c.Join, c.BootstrapExpect = []string{"peers"}, 3 }, "--bootstrap-expect is for clusters without a hostsfile"},
		{"expect without join", func(c *Config) { c.Hosts, c.BootstrapExpect = nil, 3 }, "a hostsfile is required"},
		{"addr check on", func(c *Config) { c.Join, c.AddrCheck = []string{"peers"}, AddrCheckOn }, "--addr-check on needs every peer in the hostsfile"},
	} {
		c := valid(t)
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q", tc.name, err, tc.want)
		}
	}
}
