package detector

import (
	"net"
	"time"
)

// Direct check settings: a peer is confirmed down when checkRounds rounds in a
// row each get no ack to any of pingsPerRound UDP pings sent at once (each
// waits memberlist's ProbeTimeout). With 20 % loss each way a ping or its ack
// is lost with p = 0.36, a round fails with 0.36⁵ ≈ 0.006, and three rounds
// about once in 5·10⁶ checks (at 10 %: once in 10¹¹); the leader may check
// a follower several times a second under loss, since every cut connection
// fails a heartbeat. A crashed peer is confirmed in about three probe
// timeouts (0.9 s).
//
// Watching is cheaper: a peer refuted while memberlist still declares it
// dead, and a peer confirmed down, are sent one ping every recheckInterval
// (a miss starts a full check of the first; an answer readmits the
// second). Full rounds there cost five pings a second for each such peer
// at each peer, and when many peers start at once on a starved machine,
// memberlist's false verdicts made thousands of them, which starved the
// machine further.
const (
	checkRounds     = 3
	pingsPerRound   = 5
	recheckInterval = time.Second
)

// Check verifies directly that peer id is alive, because another signal
// suggests it is not: the leader's Raft heartbeats failing, a follower not
// hearing from the leader, or memberlist declaring it dead (memberlist alone
// wrongly declares live peers dead a few times in ten minutes at 10 % loss,
// and a removal is what users see). It returns at once; the check runs in
// the background, one per peer at a time. A peer confirmed down leaves the
// member set (before memberlist's own verdict, if that has not come), OnDown
// is called, and, if memberlist still sees it alive, it is re-checked until
// it answers again or memberlist declares it dead. A peer that memberlist
// declared dead but that answers stays a member, and is watched until
// memberlist sees it alive again.
func (d *Detector) Check(id int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, known := d.known(id)
	if !known || d.checks[id] || id == d.selfID() {
		return
	}
	if d.goLocked(func() { d.check(id) }) {
		d.checks[id] = true
		d.cfg.Metrics.CheckStarted(id)
	}
}

// known returns the member record of id if memberlist sees it alive or
// declared it dead unconfirmed. The caller holds d.mu.
func (d *Detector) known(id int) (Member, bool) {
	if m, ok := d.alive[id]; ok {
		return m, true
	}
	m, ok := d.pending[id]
	return m, ok
}

func (d *Detector) check(id int) {
	defer func() {
		d.mu.Lock()
		delete(d.checks, id)
		d.mu.Unlock()
	}()
	name := d.cfg.Dir.Name(id)
	refuted := false
	for {
		d.mu.Lock()
		m, known := d.known(id)
		_, pending := d.pending[id]
		d.mu.Unlock()
		if !known {
			return
		}
		if !d.silent(id, name, m.Addr) {
			if !refuted {
				refuted = true
				d.cfg.Metrics.CheckRefuted(id)
			}
			if !pending || !d.watch(id, name, m.Addr) {
				return
			}
			continue // a ping went unanswered: check in full
		}
		d.mu.Lock()
		cur, known := d.known(id)
		restarted := known && !sameLife(cur, m)
		if known && !restarted && !d.closed {
			d.down[id] = true
			d.lost[id] = cur.Meta.Life
		}
		closed := d.closed
		d.mu.Unlock()
		if restarted && !closed {
			continue // the silence was its previous life's: check the new one
		}
		if !known || closed || restarted {
			return
		}
		d.log.Info("peer confirmed down by direct check", "peer", name)
		d.cfg.Metrics.CheckConfirmed(id)
		if d.cfg.OnDown != nil {
			d.cfg.OnDown(id)
		}
		d.notify()
		d.mu.Lock()
		_, declared := d.pending[id]
		d.mu.Unlock()
		if !declared {
			// memberlist still sees it alive: only pings tell when it
			// answers again. A peer memberlist declared dead is readmitted
			// by memberlist itself (its refutation, or a re-join, makes
			// NotifyJoin): re-checking it too made thousands of pings a
			// second on a starved machine, where memberlist's false
			// verdicts are many.
			d.recheckDown(id, name, m.Addr)
		}
		return
	}
}

// silent reports whether checkRounds rounds in a row get no answer, giving
// up early if memberlist forgets the peer meanwhile or Shutdown is called.
// A round that ran on a starved process does not count (see starved.go), up
// to maxStarvedRounds.
func (d *Detector) silent(id int, name string, addr net.IP) bool {
	for failed, starved := 0, 0; failed < checkRounds; {
		start := time.Now()
		if d.stopped() || d.answers(name, addr) {
			return false
		}
		if d.starvedRound(name, start) && starved < maxStarvedRounds {
			starved++
		} else {
			failed++
		}
		d.mu.Lock()
		_, known := d.known(id)
		d.mu.Unlock()
		if !known {
			return false
		}
	}
	return true
}

// watch pings a peer that memberlist declared dead and a check refuted,
// one ping every recheckInterval. It returns true when a ping goes
// unanswered (the caller checks the peer in full), false when memberlist
// no longer declares it dead (or forgot it) or Shutdown is called.
func (d *Detector) watch(id int, name string, addr net.IP) bool {
	for {
		if !d.sleep(recheckInterval) {
			return false
		}
		d.mu.Lock()
		_, pending := d.pending[id]
		d.mu.Unlock()
		if !pending {
			return false
		}
		if !d.ping(name, addr, 1) {
			return !d.stopped()
		}
	}
}

// recheckDown pings a peer confirmed down once every recheckInterval until it
// answers again (it rejoins the member set), it is no longer down
// (memberlist saw it alive, or forgot it), or Shutdown is called.
func (d *Detector) recheckDown(id int, name string, addr net.IP) {
	for {
		if !d.sleep(recheckInterval) {
			return
		}
		d.mu.Lock()
		down := d.down[id]
		d.mu.Unlock()
		if !down {
			return
		}
		if d.ping(name, addr, 1) {
			d.mu.Lock()
			delete(d.down, id)
			delete(d.lost, id)
			d.mu.Unlock()
			d.log.Info("peer answers again", "peer", name)
			d.notify()
			return
		}
	}
}

// answers reports whether the peer acks any of pingsPerRound UDP pings sent
// at once, within memberlist's probe timeout (false once Shutdown is called).
func (d *Detector) answers(name string, ip net.IP) bool {
	return d.ping(name, ip, pingsPerRound)
}

// ping reports whether the peer acks any of n UDP pings sent at once,
// within memberlist's probe timeout (false once Shutdown is called).
func (d *Detector) ping(name string, ip net.IP, n int) bool {
	port := d.cfg.Port
	if id, ok := d.cfg.Dir.ID(name); ok {
		if p, _ := d.cfg.Dir.Peer(id); p.Port != 0 {
			port = p.Port
		}
	}
	addr := &net.UDPAddr{IP: ip, Port: port}
	d.rounds.Add(1)
	acks := make(chan bool, n)
	for range n {
		go func() {
			_, err := d.ml.Load().Ping(name, addr)
			acks <- err == nil
		}()
	}
	// The pings end within the probe timeout on their own; the round ends
	// at the first ack, or at once on Shutdown.
	for range n {
		select {
		case ok := <-acks:
			if ok {
				return true
			}
		case <-d.stop:
			return false
		}
	}
	return false
}

// ackFresh is how long a direct ack vouches for a peer in Answering.
const ackFresh = time.Second

// Answering returns those of ids that ack a direct ping now (or did within
// ackFresh), pinging them in parallel. The leader asks before it adds a peer
// to the view: memberlist may still list as alive a peer that crashed a
// moment ago (its verdict lags), and a peer confirmed down by another
// leader's direct check is still alive to this one's memberlist.
func (d *Detector) Answering(ids []int) []int {
	type result struct {
		id int
		ok bool
	}
	results := make(chan result, len(ids))
	pending := 0
	var out []int
	for _, id := range ids {
		d.mu.Lock()
		m, alive := d.alive[id]
		fresh := time.Since(d.acked[id]) < ackFresh
		d.mu.Unlock()
		switch {
		case id == d.selfID() || fresh:
			out = append(out, id)
		case alive:
			pending++
			go func() {
				ok := d.answersUnstarved(m.Name, m.Addr)
				if ok {
					d.mu.Lock()
					d.acked[id] = time.Now()
					d.mu.Unlock()
				}
				results <- result{id, ok}
			}()
		}
	}
	for range pending {
		if r := <-results; r.ok {
			out = append(out, r.id)
		}
	}
	return out
}

// answersUnstarved is answers, with a round that failed on a starved process
// (see starved.go) tried again, up to maxStarvedRounds: on an oversubscribed
// machine every round of a leader adding many joiners at once may run late,
// and a joiner dropped for that would wait for the next try, again and
// again.
func (d *Detector) answersUnstarved(name string, ip net.IP) bool {
	for starved := 0; ; starved++ {
		start := time.Now()
		if d.answers(name, ip) {
			return true
		}
		if starved >= maxStarvedRounds || d.stopped() || !d.starvedRound(name, start) {
			return false
		}
	}
}
