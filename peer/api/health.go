package api

import "strings"

// Check is one condition of a peer's liveness or readiness.
type Check struct {
	// Name names the condition: raft, leader, leader_contact, applied,
	// data_dir, cluster.
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Detail says what was found, in a few words.
	Detail string `json:"detail"`
}

// Health is a peer's answer to GET /health (liveness) and GET /ready
// (readiness): its status, whether every check passed, and the checks.
// The peer answers 200 when OK, 503 otherwise, with this body either way.
type Health struct {
	Status
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// Reasons returns the failed checks as "name: detail", in order.
func (h Health) Reasons() []string {
	var out []string
	for _, c := range h.Checks {
		if !c.OK {
			out = append(out, c.Name+": "+c.Detail)
		}
	}
	return out
}

// NewHealth returns the Health of checks: OK when all passed.
func NewHealth(st Status, checks []Check) Health {
	h := Health{Status: st, OK: true, Checks: checks}
	for _, c := range checks {
		h.OK = h.OK && c.OK
	}
	return h
}

// String is one line: "ok" or the reasons, separated by "; ".
func (h Health) String() string {
	if h.OK {
		return "ok"
	}
	return strings.Join(h.Reasons(), "; ")
}
