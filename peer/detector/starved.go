package detector

import (
	"time"
)

// Starvation. On a machine whose CPUs are oversubscribed (a load of 8-13
// on two cores), a process may not run for hundreds of milliseconds: its
// timers fire late, and the acks it was sent wait in its socket while the
// pings' timeouts expire. A round of direct pings that failed on such a
// process says nothing about the peer, and every peer on the machine is
// starved alike: without care, a check confirms a live peer down (a live
// leader removed while the group starts under load).
//
// A round waits for its pings' timeouts (memberlist's ProbeTimeout) when no
// ack comes; one that ended more than roundSlack after that ran on a starved
// process, and does not count towards checkRounds. At most maxStarvedRounds
// are discarded in a check, so that a crash is still confirmed on a machine
// that stays starved: it then takes up to that many rounds (a few seconds)
// more.
const (
	roundSlack       = 100 * time.Millisecond
	maxStarvedRounds = 5
)

// starvedRound reports whether a failed round of direct pings to name,
// started at start, ended too late to count.
func (d *Detector) starvedRound(name string, start time.Time) bool {
	took := time.Since(start)
	starved := took > d.probeTimeout+roundSlack
	if starved {
		d.log.Debug("direct ping round ran starved: not counted", "peer", name, "took", took)
	}
	return starved
}
