// Package detector is failure detection for a roster peer: a memberlist
// (SWIM) instance tuned for a LAN, the set of hostsfile peers it sees alive,
// a periodic re-join of the missing ones, and a fast direct check that the
// Raft leader can ask for when a follower stops answering heartbeats.
package detector

import (
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"

	"roster/peer/directory"
	"roster/peer/hostsfile"
	"roster/peer/identity"
	"roster/peer/metrics"
	"roster/peer/netguard"
)

// ProbeInterval is memberlist's probe period.
const ProbeInterval = 1100 * time.Millisecond

// Config configures a Detector.
type Config struct {
	// Self is this peer's hostsfile line (ID 0 while a peer outside the
	// hostsfile has no id yet: see SetSelf).
	Self hostsfile.Peer
	// Hosts is the hostsfile: the peers to watch.
	Hosts *hostsfile.File
	// Dir tells peer names from ids (nil: the hostsfile alone).
	Dir *directory.Directory
	// Open admits peers outside the hostsfile (the cluster was started
	// with --join): they are guests until the registry gives them an id.
	Open bool
	// Join are the --join targets: DNS names whose addresses are peers,
	// or addresses (host or host:port; the port defaults to Port).
	Join []string
	// BindAddr is the IP to listen on; AdvertiseAddr the IP to announce
	// ("" lets memberlist pick from BindAddr or the interfaces).
	BindAddr, AdvertiseAddr string
	// Port is this peer's memberlist port (UDP and TCP), and the port of
	// every peer whose hostsfile line names none.
	Port int
	// Meta is what this peer announces about itself.
	Meta Meta
	// WrapTransport, if set, wraps memberlist's network transport (fault injection).
	WrapTransport func(memberlist.NodeAwareTransport) memberlist.NodeAwareTransport
	// OnDown is called (from a memberlist goroutine; it must not block)
	// when a peer is found dead, not when it leaves gracefully.
	OnDown func(id int)
	// OnAddr, if set, is called (from a memberlist goroutine; it must not
	// block) with every address memberlist reports for a hostsfile peer.
	OnAddr func(id int, addr net.IP)
	// Logger receives diagnostics (memberlist's included).
	Logger hclog.Logger
	// Metrics counts direct checks (nil: none).
	Metrics *metrics.Peer

	// Keyring, if set, encrypts gossip (AES-GCM with the primary key; any
	// installed key decrypts) and drops what no key decrypts.
	Keyring *memberlist.Keyring
	// Resolver tells which addresses belong to which hostsfile peer. With
	// AddrCheck, a peer is admitted only at an address it owns, and
	// packets and streams from addresses of no hostsfile peer are dropped.
	Resolver  *identity.Resolver
	AddrCheck bool
	// InView, if set, reports whether peer id is a member of the committed
	// view this peer holds; it must be safe for concurrent use and must not
	// call back into the detector. memberlist's dead verdict on a peer
	// outside the view is final (it is not checked directly: see gone).
	// nil: every peer counts as a member.
	InView func(id int) bool
	// Log counts dropped input at a bounded rate.
	Log *netguard.RateLog
}

// Label is the label of every gossip packet and stream; with a key it is
// authenticated too, so another program's memberlist traffic is refused.
const Label = "roster"

// Member is a peer that memberlist sees alive.
type Member struct {
	// ID is the peer's id (0 for a guest: a peer without one yet).
	ID int
	// Name is the peer's name.
	Name string
	// Addr is the IP memberlist reports for it.
	Addr net.IP
	// Port is its memberlist port.
	Port uint16
	// Meta is what the peer announces about itself.
	Meta Meta
}

// Detector tracks which peers are alive: hostsfile peers, peers the
// registry gave an id, and (with Config.Open) guests waiting for one. Its methods are safe for
// concurrent use.
type Detector struct {
	cfg     Config
	ml      atomic.Pointer[memberlist.Memberlist] // the current instance (see Readvertise)
	log     hclog.Logger
	changed chan struct{}
	kick    chan struct{} // wakes Run for a re-join round now
	// membership is signalled with changed; an idle Run waits on it.
	membership chan struct{}
	// probeTimeout is memberlist's ProbeTimeout: how long a ping waits.
	probeTimeout time.Duration

	// stop is closed by Shutdown; every goroutine of the detector ends
	// soon after, and Shutdown waits for them in wg.
	stop    chan struct{}
	wg      sync.WaitGroup
	running atomic.Int64 // goroutines started by goLocked and not yet ended (for tests)
	rounds  atomic.Int64 // rounds of direct pings sent (for tests)

	// self is this peer's id (0 until SetSelf, for a peer outside the
	// hostsfile).
	self atomic.Int64
	// joiner is the state of the --join attempts (see join.go).
	joiner joiner

	mu        sync.Mutex
	closed    bool // Shutdown was called: start no goroutine
	alive     map[int]Member
	guests    map[string]Member // alive peers without an id (Config.Open)
	leaving   map[int]bool      // peers that announced a graceful leave
	left      map[int]bool      // peers that left gracefully and did not come back
	pending   map[int]Member    // declared dead by memberlist, not yet confirmed
	down      map[int]bool      // confirmed dead by a direct check
	lost      map[int]uint64    // confirmed down or left, not seen alive since: the life that did (see Gone)
	checks    map[int]bool      // direct checks in flight
	joining   map[int]bool      // re-joins in flight
	moving    map[int]bool      // address conflicts being looked into (see conflict.go)
	acked     map[int]time.Time // last ack to a direct ping
	meta      Meta
	gen       uint64    // number of the current memberlist instance
	suspended bool      // the instance is stopped until Readvertise (see Suspend)
	movedAt   time.Time // when this peer last re-announced itself at a new address

	local      atomic.Pointer[net.UDPAddr] // the current instance's own address
	restart    sync.Mutex                  // one Readvertise at a time
	announcing sync.Mutex                  // one UpdateNode at a time (see announce)

	lines *netguard.LineWriter // memberlist's log, at a bounded rate
}

// Start creates the memberlist instance. It does not join anyone: call Run.
func Start(cfg Config) (*Detector, error) {
	d := &Detector{
		cfg:        cfg,
		log:        cfg.Logger.Named("detector"),
		changed:    make(chan struct{}, 1),
		kick:       make(chan struct{}, 1),
		membership: make(chan struct{}, 1),
		stop:       make(chan struct{}),
		alive:      map[int]Member{},
		guests:     map[string]Member{},
		leaving:    map[int]bool{},
		left:       map[int]bool{},
		pending:    map[int]Member{},
		down:       map[int]bool{},
		lost:       map[int]uint64{},
		checks:     map[int]bool{},
		joining:    map[int]bool{},
		moving:     map[int]bool{},
		acked:      map[int]time.Time{},
		meta:       cfg.Meta,
	}
	if d.cfg.Dir == nil {
		d.cfg.Dir = directory.New(cfg.Hosts)
	}
	d.self.Store(int64(cfg.Self.ID))
	d.lines = netguard.NewLineWriter(shutdownFilter{cfg.Logger.Named("memberlist").StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true})})
	ml, err := d.create(cfg.AdvertiseAddr, 0)
	if err != nil {
		d.lines.Close()
		return nil, err
	}
	d.ml.Store(ml)
	return d, nil
}

// create starts a memberlist instance, with a transport of its own, that
// announces advertise ("": memberlist's choice); gen numbers the instance
// (see Readvertise).
func (d *Detector) create(advertise string, gen uint64) (*memberlist.Memberlist, error) {
	cfg := d.cfg
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Self.Name
	mc.BindAddr = cfg.BindAddr
	if mc.BindAddr == "" {
		mc.BindAddr = "0.0.0.0"
	}
	mc.BindPort = cfg.Port
	mc.AdvertiseAddr = advertise
	mc.AdvertisePort = cfg.Port
	tune(mc)
	if gen == 0 {
		d.probeTimeout = mc.ProbeTimeout // the same for every instance
	}
	mc.Events = &events{d: d, gen: gen}
	mc.Delegate = (*delegate)(d)
	mc.Alive = (*alive)(d)
	mc.Conflict = &conflicts{d: d, gen: gen}
	mc.Label = Label
	mc.Keyring = cfg.Keyring
	mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	// memberlist inflates compressed messages without a bound; roster's
	// peers never send one, and the guard drops those that come.
	mc.EnableCompression = false
	// Routine complaints become debug lines first: the line writer limits
	// the rate of warnings and errors only.
	mc.Logger = log.New(logFilter{d.lines}, "", 0)
	mc.LogOutput = nil

	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{mc.BindAddr},
		BindPort:  cfg.Port,
		Logger:    mc.Logger,
	})
	if err != nil {
		addr := net.JoinHostPort(mc.BindAddr, strconv.Itoa(cfg.Port))
		if strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("gossip port %s: address already in use", addr)
		}
		return nil, fmt.Errorf("gossip port %s: %w", addr, err)
	}
	var t memberlist.NodeAwareTransport = newGuard(nt, guardConfig{
		Keyring: cfg.Keyring, Label: Label, Resolver: cfg.Resolver, AddrCheck: cfg.AddrCheck, Log: cfg.Log,
		Source: specificIP(mc.BindAddr),
	})
	if cfg.WrapTransport != nil {
		t = cfg.WrapTransport(t)
	}
	mc.Transport = t
	ml, err := memberlist.Create(mc)
	if err != nil {
		t.Shutdown()
		return nil, fmt.Errorf("start memberlist: %w", err)
	}
	// memberlist's nodes are read outside its lock at one's peril (an alive
	// message rewrites them): this peer's address is kept here, read once.
	ln := ml.LocalNode()
	d.local.Store(&net.UDPAddr{IP: slices.Clone(ln.Addr), Port: int(ln.Port)})
	return ml, nil
}

// reclaimTime is memberlist's DeadNodeReclaimTime: how long after declaring
// a peer dead it takes the peer's name at another address.
const reclaimTime = time.Second

// tune sets memberlist's timings for a LAN with a 1.1 s probe period.
func tune(mc *memberlist.Config) {
	mc.ProbeInterval = ProbeInterval
	mc.ProbeTimeout = 300 * time.Millisecond
	mc.SuspicionMult = 1
	mc.SuspicionMaxTimeoutMult = 4
	// Each gossip tick wakes the process, also with nothing to send: it
	// was 100 ms. Fast verdicts do not come from gossip here (direct
	// checks, see check.go); a leaver's announcement, which a new leader
	// must have heard, also goes to every peer by a push/pull (tellAlive).
	// A round a second took a fifth of an idle leader's wake-ups off but
	// no CPU measurable on this machine, and slowed what spreads only by
	// gossip: a new peer's id and cluster id, memberlist's own leave (two
	// seconds of retransmissions).
	mc.GossipInterval = 200 * time.Millisecond
	mc.PushPullInterval = 15 * time.Second
	mc.TCPTimeout = 2 * time.Second
	// A restarted peer may come back with a new address under its old name.
	mc.DeadNodeReclaimTime = reclaimTime
}

// LocalAddr returns the IP this peer advertises.
func (d *Detector) LocalAddr() net.IP { return d.local.Load().IP }

// Changed delivers a signal after the alive set may have changed.
func (d *Detector) Changed() <-chan struct{} { return d.changed }

func (d *Detector) notify() {
	for _, c := range []chan struct{}{d.changed, d.membership} {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// Members returns the peers with an id (hostsfile or registry) that count
// as alive, the local one included: those memberlist sees alive, and those it declared dead that no
// direct check has confirmed down yet.
func (d *Detector) Members() map[int]Member {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[int]Member, len(d.alive)+len(d.pending))
	for _, set := range []map[int]Member{d.pending, d.alive} {
		for id, m := range set {
			if !d.down[id] {
				out[id] = m
			}
		}
	}
	return out
}

// Gone maps the peers this detector has evidence against to the life
// number (Meta.Life, 0 if none was announced) of the process the evidence
// is about: peers a direct check confirmed down, peers that left
// gracefully, and peers that announce a leave; a peer seen alive again
// drops out. The evidence outlives memberlist's verdict (which clears the
// confirmation Members uses) and memberlist forgetting the peer. A peer
// missing from Alive without evidence about its current life is merely not
// seen (yet): the reconcile loop does not take that alone for a failure.
// Safe for concurrent use.
func (d *Detector) Gone() map[int]uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[int]uint64, len(d.lost))
	for id, life := range d.lost {
		out[id] = life
	}
	for id, m := range d.alive {
		if d.leaving[id] && id != d.selfID() {
			out[id] = m.Meta.Life
		}
	}
	return out
}

// Left returns the ids of the peers that announced a graceful leave or left
// gracefully, and have not been seen alive without the announcement since.
// Safe for concurrent use.
func (d *Detector) Left() map[int]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[int]bool, len(d.left))
	for id := range d.left {
		out[id] = true
	}
	for id, leaving := range d.leaving {
		if leaving && id != d.cfg.Self.ID {
			out[id] = true // announced, not gone yet
		}
	}
	return out
}

// Alive maps the ids of the alive peers (hostsfile or registry) to their
// Raft addresses.
// A peer that announced a graceful leave is not among them: it still
// answers while it waits to be out of the voters, and a leader that missed
// its leave message (elected after the one that removed it) must not admit
// it again.
func (d *Detector) Alive() map[int]string {
	out := map[int]string{}
	for id, m := range d.Members() {
		if m.Meta.Leaving && id != d.cfg.Self.ID {
			continue
		}
		out[id] = net.JoinHostPort(m.Addr.String(), strconv.Itoa(m.Meta.RaftPort))
	}
	return out
}

// Run joins the other hostsfile peers and keeps re-joining the missing ones
// every interval until ctx is done or Shutdown is called. memberlist alone
// does not re-merge after a long partition. While it has nothing to retry
// (every hostsfile peer seen, no recent move, no --join attempt due) it
// waits for a membership change instead of ticking, up to idleRound: an
// idle peer wakes once a second less.
func (d *Detector) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		wait := interval
		if !d.Suspended() {
			d.rejoinMissing(ctx)
			d.joinTargets(ctx)
			d.reannounce()
			if d.settled() {
				wait = d.untilJoinDue(idleRound)
			}
		}
		t.Reset(wait)
		idle := d.membership
		if wait <= interval {
			idle = nil // ticking: a membership change waits for the tick
		}
		select {
		case <-ctx.Done():
			return
		case <-d.stop:
			return
		case <-t.C:
		case <-d.kick:
		case <-idle:
		}
	}
}

// idleRound is the longest Run waits between rounds while it has nothing to
// retry: a safety net, since a membership change wakes it.
const idleRound = 10 * time.Second

// settled reports whether Run has nothing to retry: memberlist sees every
// hostsfile peer and this peer has not moved recently.
func (d *Detector) settled() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.movedAt.IsZero() && time.Since(d.movedAt) < reannounceFor {
		return false
	}
	for _, p := range d.cfg.Hosts.Peers {
		if _, ok := d.alive[p.ID]; !ok && p.ID != d.selfID() {
			return false
		}
	}
	return true
}

// rejoinFanout caps the re-joins a peer has in flight, and
// rejoinFanoutSeen once it sees at least half the hostsfile peers. One
// push/pull with any member brings the whole membership, so a few suffice.
// When many peers start at once, joining every missing one each round made
// n² push/pulls a second and stalled memberlist ("Too many pending
// push/pull requests"), and four each (each exchanging the state of up to
// n members) still kept 200 peers started at once in one process from
// converging. A partition heals through the smaller side's re-joins as
// well as the larger's, so the larger side's one at a time costs little.
const (
	rejoinFanout     = 4
	rejoinFanoutSeen = 1
)

// rejoinMissing starts re-joins of hostsfile peers memberlist does not see,
// at most rejoinFanout (or rejoinFanoutSeen) in flight, picked at random so
// that peers starting together do not all ask the same one.
func (d *Detector) rejoinMissing(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var missing []hostsfile.Peer
	unseen := 0
	for _, p := range d.cfg.Hosts.Peers {
		if _, ok := d.alive[p.ID]; !ok && p.ID != d.selfID() {
			unseen++
			if !d.joining[p.ID] {
				missing = append(missing, p)
			}
		}
	}
	fanout := rejoinFanout
	if 2*unseen <= len(d.cfg.Hosts.Peers) {
		fanout = rejoinFanoutSeen
	}
	rand.Shuffle(len(missing), func(i, j int) { missing[i], missing[j] = missing[j], missing[i] })
	for _, p := range missing {
		if len(d.joining) >= fanout {
			return
		}
		if d.goLocked(func() { d.rejoin(ctx, p) }) {
			d.joining[p.ID] = true
		}
	}
}

// rejoin tries once to join a missing peer.
func (d *Detector) rejoin(ctx context.Context, p hostsfile.Peer) {
	defer func() {
		d.mu.Lock()
		delete(d.joining, p.ID)
		d.mu.Unlock()
	}()
	if ctx.Err() != nil || d.stopped() {
		return
	}
	if !p.IsIP() {
		// Under Docker a crashed container's name stops resolving:
		// skip it quietly rather than have memberlist warn each time.
		host := p.Host
		if host == "" {
			host = p.Name
		}
		if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
			d.log.Trace("peer does not resolve", "peer", p.Name, "host", host, "error", err)
			return
		}
	}
	// A join may wait for memberlist's TCP timeout; Shutdown does not wait
	// for it (the call ends on its own).
	joined := make(chan error, 1)
	go func() {
		_, err := d.ml.Load().Join([]string{d.seed(p)})
		joined <- err
	}()
	select {
	case err := <-joined:
		if err != nil {
			d.log.Trace("join failed", "peer", p.Name, "error", err)
		}
	case <-d.stop:
	}
}

// seed returns the memberlist address of a hostsfile peer.
func (d *Detector) seed(p hostsfile.Peer) string {
	host, port := p.Host, p.Port
	if host == "" {
		host = p.Name
	}
	if port == 0 {
		port = d.cfg.Port
	}
	// memberlist parses "name/host:port" so the node name is checked too.
	return p.Name + "/" + net.JoinHostPort(host, strconv.Itoa(port))
}

// SetJoined announces that this peer belongs to a cluster.
func (d *Detector) SetJoined() {
	d.mu.Lock()
	d.meta.Joined = true
	d.mu.Unlock()
	if err := d.announce(announceWait); err != nil {
		d.log.Debug("announce joined", "error", err)
	}
}

// ClusterExists reports whether another alive peer (guests included) says
// it belongs to a cluster: it has been in a view (Meta.Joined).
func (d *Detector) ClusterExists() bool {
	for _, m := range d.Everyone() {
		if m.Name != d.cfg.Self.Name && m.Meta.Joined {
			return true
		}
	}
	return false
}

// JoinNow tries once to join every other hostsfile peer, and waits for the
// attempts to end (at most memberlist's TCP timeout). It reports whether
// some peer took the connection but did not finish the state exchange in
// time (see slowAnswer): a process is there, too slow to say whether it
// belongs to a cluster.
func (d *Detector) JoinNow() (slow bool) {
	var wg sync.WaitGroup
	if len(d.cfg.Join) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.joinOnce(context.Background())
		}()
	}
	var slowSeen atomic.Bool
	for _, p := range d.cfg.Hosts.Peers {
		if p.ID == d.selfID() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.ml.Load().Join([]string{d.seed(p)}); slowAnswer(err) {
				d.log.Debug("peer took the connection but did not answer in time", "peer", p.Name, "error", err)
				slowSeen.Store(true)
			}
		}()
	}
	wg.Wait()
	return slowSeen.Load()
}

// slowAnswer reports whether a failed memberlist join reached a process:
// the connection was made (the error is not the dial's) but the exchange
// timed out. memberlist flattens the error to text, hence the match.
func slowAnswer(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "i/o timeout") && !strings.Contains(msg, "dial ")
}

// Leave announces a graceful leave and leaves the cluster. Nothing waits
// for gossip (at a round a second, the retransmissions of the announcement
// and of memberlist's leave took two seconds each): the announcement
// (metadata Leaving) is pushed to every peer seen alive at once
// (tellAlive), so that the leader, and any peer that leads next, knows of
// the leave within a round trip; then memberlist leaves, and its left state
// is pushed the same way. A suspended peer (see Suspend) has no one to
// tell. Safe for concurrent use; Readvertise and Suspend wait for it.
func (d *Detector) Leave(timeout time.Duration) error {
	d.restart.Lock()
	defer d.restart.Unlock()
	d.mu.Lock()
	d.meta.Leaving = true
	stopped := d.suspended || d.closed
	d.mu.Unlock()
	if stopped {
		return nil // memberlist is stopped: Leave on it would panic
	}
	// memberlist waits for its broadcast without a bound when given no
	// timeout: a short wait queues it, and the push below delivers it.
	if err := d.announce(leaveQueued); err != nil {
		d.log.Debug("leave announcement not gossiped yet; it is pushed to every peer", "error", err)
	}
	d.tellAlive(timeout / 4)
	err := d.ml.Load().Leave(min(timeout/4, leaveQueued))
	d.tellAlive(timeout / 4)
	if err != nil {
		d.log.Debug("memberlist's leave broadcast not sent yet; the left state was pushed to every peer", "error", err)
	}
	return nil
}

// leaveQueued is how long Leave lets memberlist's own broadcasts (the
// announcement, the leave) go out before it pushes the state itself.
const leaveQueued = 100 * time.Millisecond

// tellAlive pushes this peer's state (its metadata) to every peer seen
// alive, a push/pull each, all at once, waiting at most wait. Gossip
// reaches every peer only with luck within a few rounds, and a leave's
// announcement must reach whichever peer leads next: a leader that has not
// heard it would admit the leaver again. The exchanges end within
// memberlist's TCP timeout.
func (d *Detector) tellAlive(wait time.Duration) {
	d.mu.Lock()
	var addrs []string
	for id, m := range d.alive {
		if id == d.selfID() {
			continue
		}
		port := d.cfg.Port
		if p, _ := d.cfg.Dir.Peer(id); p.Port != 0 {
			port = p.Port
		}
		addrs = append(addrs, net.JoinHostPort(m.Addr.String(), strconv.Itoa(port)))
	}
	var wg sync.WaitGroup
	for _, a := range addrs {
		wg.Add(1)
		if !d.goLocked(func() {
			defer wg.Done()
			d.ml.Load().Join([]string{a})
		}) {
			wg.Done()
		}
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// shutdownWait bounds how long Shutdown waits for the detector's
// goroutines, which end as soon as they see Shutdown.
const shutdownWait = time.Second

// Shutdown stops memberlist at once, without telling anyone (a crash), and
// stops every goroutine of the detector (direct checks, re-checks,
// re-joins), waiting for them at most shutdownWait. memberlist calls they
// had in flight (a ping, a join) end within their own timeouts. It is safe
// to call more than once.
func (d *Detector) Shutdown() error {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		close(d.stop)
	}
	d.mu.Unlock()
	err := d.ml.Load().Shutdown()
	d.lines.Close()
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(shutdownWait):
		d.log.Warn("detector goroutines still running after shutdown", "count", d.running.Load())
	}
	return err
}

// goLocked runs f on a new goroutine that Shutdown waits for, unless
// Shutdown was called; it reports whether it started f. The caller holds
// d.mu (so no goroutine starts once Shutdown has begun waiting).
func (d *Detector) goLocked(f func()) bool {
	if d.closed {
		return false
	}
	d.wg.Add(1)
	d.running.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.running.Add(-1)
		f()
	}()
	return true
}

// stopped reports whether Shutdown was called.
func (d *Detector) stopped() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

// sleep waits for dur, or less if Shutdown is called; it reports whether
// the detector is still running.
func (d *Detector) sleep(dur time.Duration) bool {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-d.stop:
		return false
	case <-t.C:
		return true
	}
}

// shutdownFilter drops memberlist's complaints about its own closed sockets,
// which it logs as errors while it shuts down.
type shutdownFilter struct{ w io.Writer }

func (f shutdownFilter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "use of closed network connection") {
		return len(p), nil
	}
	return f.w.Write(p)
}

// specificIP returns bind as an IP unless it is unspecified (all interfaces).
func specificIP(bind string) net.IP {
	ip := net.ParseIP(bind)
	if ip == nil || ip.IsUnspecified() {
		return nil
	}
	return ip
}
