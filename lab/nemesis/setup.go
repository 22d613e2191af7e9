package nemesis

import (
	"fmt"

	"roster/peer/hostsfile"
)

// Targets finds the peers c names: --peers, else the PeersEnv variable
// (getenv reads the environment), else the hostsfile's peers at APIPort.
// The hostsfile, when given, also supplies the ids. It returns where the
// list came from, for the first line of the nemesis's output.
func (c Config) Targets(getenv func(string) string) ([]Target, string, error) {
	var hf *hostsfile.File
	if c.Hostsfile != "" {
		var err error
		if hf, err = hostsfile.Load(c.Hostsfile); err != nil {
			return nil, "", err
		}
	}
	var ts []Target
	var from string
	switch env := getenv(PeersEnv); {
	case c.Peers != "":
		var err error
		if ts, err = ParsePeers(c.Peers); err != nil {
			return nil, "", fmt.Errorf("--peers: %w", err)
		}
		from = "--peers"
	case env != "":
		var err error
		if ts, err = ParsePeers(env); err != nil {
			return nil, "", fmt.Errorf("%s: %w", PeersEnv, err)
		}
		from = PeersEnv
	case hf != nil:
		port := c.APIPort
		if port == 0 {
			port = DefaultAPIPort
		}
		return HostsfileTargets(hf, port), "hostsfile " + c.Hostsfile, nil
	default:
		return nil, "", fmt.Errorf("no peers: give -h HOSTSFILE or --peers one=HOST:PORT,...")
	}
	if hf != nil {
		ts = WithIDs(ts, hf)
	}
	return ts, from, nil
}
