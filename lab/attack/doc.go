// Package attack is roster's hostile-input suite (roster lab attack): it
// starts real peers as separate processes on a loopback block
// (127.X.Y.11-15), replays what an attacker on the same network tries
// (malformed and oversized packets and frames on every port, a
// decompression bomb, forged Raft requests without the key, a rogue process
// claiming a hostsfile name, idle and slow connections, gossip sealed with
// another key), and judges each probe by what the peers did: every peer
// still running, none past an RSS bound (VmRSS in /proc/PID/status), no
// forged view installed, no split or missing view (the checker's
// agreement, order and validity over every line the peers printed), and
// how many log lines the bad input cost.
//
// Each probe runs against a fresh cluster, so one probe's damage does not
// blur the next one's outcome; a probe that only a key can stop is
// reported, but not held against an open cluster (that is what "open"
// means). Linux only (loopback blocks, /proc).
package attack
