package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Peer holds one peer's own metrics. A nil *Peer is valid and records
// nothing, so that packages can be used without metrics. Its methods are
// safe for concurrent use.
type Peer struct {
	reg *prometheus.Registry

	viewID, members, leader        prometheus.Gauge
	leaderChanges                  prometheus.Counter
	checksStarted, checksConfirmed prometheus.Counter
	checksRefuted                  prometheus.Counter
	crashToView                    prometheus.Histogram
	reconcileSteps                 *prometheus.CounterVec
	groupMembers                   *prometheus.GaugeVec
	groupExpirations               *prometheus.CounterVec
	groupCount, groupClients       prometheus.Gauge
	expirations                    prometheus.Counter

	mu         sync.Mutex
	lastLeader int
	view       map[int]bool      // the members of the last installed view
	suspected  map[int]time.Time // member -> first failure signal not yet resolved
	groupSizes map[string]int    // group -> members, as last told
}

// NewPeer returns a peer's metrics, all at zero.
func NewPeer() *Peer {
	p := &Peer{reg: prometheus.NewRegistry(), view: map[int]bool{}, suspected: map[int]time.Time{}, groupSizes: map[string]int{}}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		p.reg.MustRegister(g)
		return g
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		p.reg.MustRegister(c)
		return c
	}
	p.viewID = gauge("roster_view_id", "The id of the last view this peer installed.")
	p.members = gauge("roster_view_members", "The number of members of the last view this peer installed.")
	p.leader = gauge("roster_raft_leader", "The id of the Raft leader this peer knows (0: none).")
	p.leaderChanges = counter("roster_leader_changes_total", "Times this peer saw the Raft leader change (to another peer or to none).")
	p.checksStarted = counter("roster_direct_checks_started_total", "Direct checks this peer started (a failed Raft heartbeat, a silent leader or memberlist's dead verdict made it suspect a member).")
	p.checksConfirmed = counter("roster_direct_checks_confirmed_total", "Direct checks that confirmed a member down (no answer to three rounds of pings).")
	p.checksRefuted = counter("roster_direct_checks_refuted_total", "Direct checks the suspected member answered.")
	p.crashToView = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "roster_crash_to_view_seconds",
		Help:    "From this peer's first failure signal about a member (a failed Raft heartbeat, a silent leader, memberlist's dead verdict) to its install of a view without that member.",
		Buckets: []float64{0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 10, 30},
	})
	p.reg.MustRegister(p.crashToView)
	p.reconcileSteps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_reconcile_steps_total",
		Help: "Steps the leader's reconcile loop took, by kind (commit, add-nonvoter, promote, demote, remove) and result (ok, stale: the view moved on, failed).",
	}, []string{"step", "result"})
	p.reg.MustRegister(p.reconcileSteps)
	p.groupMembers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "roster_group_members",
		Help: "The members of each client group, as this peer holds them (a group without members has no series).",
	}, []string{"group"})
	p.groupExpirations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_group_expirations_total",
		Help: "Members of each client group removed because their owner found them dead, as this peer applied them (the series goes with its group).",
	}, []string{"group"})
	p.groupCount = gauge("roster_groups", "The client groups with members, as this peer holds them.")
	p.groupClients = gauge("roster_group_clients", "The members of all client groups, as this peer holds them.")
	p.expirations = counter("roster_client_expirations_total", "Members of all client groups removed because their owner found them dead, as this peer applied them.")
	p.reg.MustRegister(p.groupMembers, p.groupExpirations)
	return p
}

// ViewInstalled records a view this peer installed. A member it suspected
// and that the view no longer holds adds one crash-to-view observation.
func (p *Peer) ViewInstalled(id uint64, members []int) {
	if p == nil {
		return
	}
	p.viewID.Set(float64(id))
	p.members.Set(float64(len(members)))
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.view)
	for _, m := range members {
		p.view[m] = true
	}
	for m, since := range p.suspected {
		if !p.view[m] {
			p.crashToView.Observe(now.Sub(since).Seconds())
			delete(p.suspected, m)
		}
	}
}

// LeaderObserved records the Raft leader this peer knows now (0: none);
// a change from the one before counts as a leader change.
func (p *Peer) LeaderObserved(id int) {
	if p == nil {
		return
	}
	p.leader.Set(float64(id))
	p.mu.Lock()
	changed := id != p.lastLeader
	p.lastLeader = id
	p.mu.Unlock()
	if changed {
		p.leaderChanges.Inc()
	}
}

// CheckStarted records a direct check of member id: the first failure
// signal about it, unless an earlier one is unresolved or id is not in the
// current view.
func (p *Peer) CheckStarted(id int) {
	if p == nil {
		return
	}
	p.checksStarted.Inc()
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.suspected[id]; !ok && p.view[id] {
		p.suspected[id] = time.Now()
	}
}

// CheckConfirmed records a direct check that found member id down.
func (p *Peer) CheckConfirmed(id int) {
	if p == nil {
		return
	}
	p.checksConfirmed.Inc()
}

// CheckRefuted records a direct check member id answered: the suspicion
// is resolved.
func (p *Peer) CheckRefuted(id int) {
	if p == nil {
		return
	}
	p.checksRefuted.Inc()
	p.mu.Lock()
	delete(p.suspected, id)
	p.mu.Unlock()
}

// Step results for ReconcileStep.
const (
	StepOK     = "ok"
	StepStale  = "stale"
	StepFailed = "failed"
)

// ReconcileStep records a step of the leader's reconcile loop: its kind
// and StepOK, StepStale or StepFailed.
func (p *Peer) ReconcileStep(kind, result string) {
	if p == nil {
		return
	}
	p.reconcileSteps.WithLabelValues(kind, result).Inc()
}

// GroupSize records the number of members of a client group, at least
// one (it implements groups.Observer: the groups state calls it at each
// change).
func (p *Peer) GroupSize(group string, members int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.groupClients.Add(float64(members - p.groupSizes[group]))
	p.groupSizes[group] = members
	p.groupCount.Set(float64(len(p.groupSizes)))
	p.groupMembers.WithLabelValues(group).Set(float64(members))
}

// GroupExpired records a member of a client group removed because its
// owner found it dead.
func (p *Peer) GroupExpired(group string) {
	if p == nil {
		return
	}
	p.expirations.Inc()
	p.groupExpirations.WithLabelValues(group).Inc()
}

// GroupGone forgets a group that no longer has members.
func (p *Peer) GroupGone(group string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.groupClients.Sub(float64(p.groupSizes[group]))
	delete(p.groupSizes, group)
	p.groupCount.Set(float64(len(p.groupSizes)))
	p.groupMembers.DeleteLabelValues(group)
	p.groupExpirations.DeleteLabelValues(group)
}

// Gatherer returns the peer's own metrics and the process's library
// metrics together.
func (p *Peer) Gatherer() prometheus.Gatherer {
	lib, _ := Library()
	if p == nil {
		return lib
	}
	return prometheus.Gatherers{lib, p.reg}
}
