package nemesis

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"roster/lab/fault"
	"roster/peer/api"
)

// clientCut carries out CutClient and HealClient. CutClient asks the
// peers for the group, finds the client's owner and check address, and adds
// a rule to the owner's faults that blocks its dials to that address (only
// its checks of the client fail: other peers, and the client's own calls,
// are untouched). HealClient removes every rule naming the client's address
// (every client rule, when the client is no longer a member) from every peer.
func (r *Runner) clientCut(ctx context.Context, a Action) Result {
	m, err := r.member(ctx, a.Group, a.Client)
	if a.Kind == CutClient {
		if err != nil {
			return Result{Failed: map[string]string{a.Client: err.Error()}}
		}
		t, err := r.Peers.Resolve(ctx, strconv.Itoa(m.Owner))
		if err != nil {
			return Result{Failed: map[string]string{a.Client: fmt.Sprintf("owner %d: %v", m.Owner, err)}}
		}
		return r.each(ctx, []Target{t}, func(c fault.Client) error {
			st, err := c.Get(ctx)
			if err != nil {
				return err
			}
			rules := append(st.Rules, fault.Rule{Clients: []string{m.Addr}, Block: true})
			_, err = c.Set(ctx, fault.State{Rules: rules, Partition: st.Partition})
			return err
		})
	}
	addr := m.Addr // "" when the client is gone: drop every client rule
	return r.each(ctx, r.Peers.All(), func(c fault.Client) error {
		st, err := c.Get(ctx)
		if err != nil {
			return err
		}
		rules := slices.DeleteFunc(st.Rules, func(rule fault.Rule) bool {
			return len(rule.Clients) > 0 && (addr == "" || slices.Contains(rule.Clients, addr))
		})
		_, err = c.Set(ctx, fault.State{Rules: rules, Partition: st.Partition})
		return err
	})
}

// member reads group from the peers (any that answers) and returns client's
// membership.
func (r *Runner) member(ctx context.Context, group, client string) (api.Member, error) {
	var addrs []string
	for _, t := range r.Peers.All() {
		addrs = append(addrs, t.API)
	}
	gc := &api.GroupsClient{Addrs: addrs, Timeout: 2 * time.Second}
	if r.Token != "" {
		gc.Header = http.Header{"Authorization": {"Bearer " + r.Token}}
	}
	g, err := gc.Group(ctx, group, api.ReadQuery{})
	if err != nil {
		return api.Member{}, fmt.Errorf("group %s: %v", group, err)
	}
	for _, m := range g.Members {
		if m.Client == client {
			return m, nil
		}
	}
	return api.Member{}, fmt.Errorf("client %s is not a member of group %s (members %v)", client, group, g.Clients())
}
