// Package fault injects network faults into a roster peer, in process, so it
// works in a FROM scratch container with no tc, iptables or NET_ADMIN.
//
// An Injector holds the faults of one peer. It wraps the peer's two
// transports: memberlist's (WrapTransport, scope "gossip": UDP packets and
// TCP streams) and Raft's (WrapStreamLayer, scope "raft": TCP connections),
// and the client groups' dialer (WrapDial): connections to other peers
// (scope "api": forwarded writes, keepalives, indirect checks) and an
// owner's checks of its clients, which only rules naming the client's
// address in "clients" refuse or delay (and a pause).
// Remote peers are told apart by IP through a Resolver the peer supplies;
// traffic with an address it does not know passes every rule.
//
// # Faults
//
// A Rule matches traffic by remote peer ids (none: every remote peer),
// direction ("in", "out" or "both") and scope ("gossip", "raft" or "all"),
// and blocks it, drops it with probability loss, or delays it by
// delay ± jitter (uniform). A message goes through every matching rule in
// series. On TCP, which cannot lose bytes, loss refuses dials and incoming
// connections and cuts live connections at a Read or Write; delay applies to
// each Read and Write. A block, whatever its direction, stops connections
// both ways, and closes live ones with the peer at once (Raft pools its
// connections).
//
// A partition splits the peers into sides; a peer blocks everyone not on its
// side. A pause drops everything, both ways, with everyone, for a while.
// Losses and jitter come from a seedable source (Options.Seed).
//
// At start, a peer's command line fills Flags (ParseLoss, ParseDelay,
// ParsePartition) and Flags.Apply installs them:
//
//	--loss 0.1                     drop 10% of what this peer sends, on every link (also "10%")
//	--latency 50ms±20ms            delay what this peer sends ("50ms+-20ms", "50ms~20ms")
//	--partition "1,2|3,4,5"        sides, '|' or '/' between them
//	--partition-at 15s             when the partition starts (default 0)
//	--heal-at 30s                  when it heals (default never)
//
// # HTTP API
//
// Injector.Handler serves the fault API, mounted on the peer's API port only
// when the peer runs with --faults. Every success answers 200 with the
// current status; every bad request answers 400 with {"error": "reason"}.
//
//	GET    /faults                 current status
//	PUT    /faults                 replace rules and partition (POST works too)
//	DELETE /faults                 clear rules, partition and pause
//	POST   /faults/pause?for=10s   drop all traffic for 10s
//	DELETE /faults/pause           end the pause early
//	POST   /faults/partition       partition: {"sides": [[1,2],[3,4,5]]}
//	DELETE /faults/partition       heal the partition, keep the rules
//
// The body of PUT /faults is a State; unknown fields are refused. Durations
// are Go duration strings; a rule's fields default to every peer, both
// directions, all traffic:
//
//	{
//	  "rules": [
//	    {"loss": 0.1},
//	    {"peers": [2], "dir": "out", "scope": "raft", "block": true},
//	    {"peers": [3, 4], "delay": "50ms", "jitter": "20ms"},
//	    {"clients": ["10.0.0.9:7070"], "block": true}
//	  ],
//	  "partition": [[1, 2], [3, 4, 5]]
//	}
//
// The status adds this peer's id, the random seed, and the end of a running
// pause:
//
//	{"self": 1, "seed": 42, "rules": [...], "partition": [[1,2],[3,4,5]],
//	 "paused_until": "2026-11-21T20:18:00.123Z"}
//
// Each peer filters its own traffic both ways, so a link is cut as soon as
// either end blocks it: a partition installed on the peers of one side
// already cuts that side off; installing it on every peer is simplest
// (Client talks to one peer a call).
package fault
