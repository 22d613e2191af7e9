package runner

import (
	"strings"

	"roster/lab/nemesis"
)

// peersEnv returns the environment entry that tells a run's processes where
// each peer's HTTP API listens: ROSTER_LAB_PEERS=one=127.0.0.11:8082,...
// (nemesis.PeersEnv), in service order. `roster nemesis` reads it, since
// the generated hostsfile carries no API ports.
func peersEnv(eps []Endpoint) string {
	var parts []string
	for _, ep := range eps {
		if ep.Peer != "" {
			parts = append(parts, ep.Peer+"="+ep.APIAddr())
		}
	}
	return nemesis.PeersEnv + "=" + strings.Join(parts, ",")
}
