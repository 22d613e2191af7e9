package service

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"roster/peer/api"
	"roster/peer/groups"
)

// lagWait is how long a peer that does not know a client waits for its
// state to catch up before it says the client is not a member: a write
// answers once the leader committed it, and the other peers learn of the
// commit up to 20 ms later (more on a loaded machine), so a keepalive sent
// right after a join through a follower may arrive first.
const lagWait = 500 * time.Millisecond

// memberSoon is member, waiting up to lagWait for the state to change
// when the client is not found.
func (s *Service) memberSoon(ctx context.Context, group, client string) (groups.Member, bool) {
	t := time.NewTimer(lagWait)
	defer t.Stop()
	for {
		v, _, changed := s.cfg.State.Group(group)
		if v != nil {
			if m, ok := v.Find(client); ok {
				return m, true
			}
		}
		select {
		case <-changed:
		case <-t.C:
			return groups.Member{}, false
		case <-ctx.Done():
			return groups.Member{}, false
		}
	}
}

func notMember(group, client string) *api.HTTPError {
	return api.Errorf(http.StatusNotFound, "client %q is not a member of group %q: join again", client, group)
}

// Keepalive implements api.Groups. The owner counts a keepalive as a
// successful check; any other peer passes it on to the owner (one hop, at
// most forwardTimeout), and answers from its own state when the owner
// cannot be reached, so a keepalive never fails for the owner's sake.
func (s *Service) Keepalive(ctx context.Context, group, client string, o api.Origin) (api.KeepaliveResponse, error) {
	_, members := s.cfg.Members()
	owner := groups.Owner(group, client, members)
	m, found := s.memberSoon(ctx, group, client)
	local := func() (api.KeepaliveResponse, error) {
		if !found {
			return api.KeepaliveResponse{}, notMember(group, client)
		}
		counted := owner == s.cfg.Self && s.live.keepalive(clientKey{group, client}, m.Incarnation)
		return api.KeepaliveResponse{Client: client, Incarnation: m.Incarnation, Owner: owner, Counted: counted}, nil
	}
	if owner == s.cfg.Self || owner == 0 || o.Forwarded != 0 {
		return local()
	}
	if addr, ok := s.cfg.PeerAPI(owner); ok {
		var out api.KeepaliveResponse
		path := "/v1/groups/" + url.PathEscape(group) + "/members/" + url.PathEscape(client) + "/keepalive"
		err := s.forward(ctx, addr, http.MethodPut, path, o, forwardTimeout, 0, &out)
		if err == nil {
			return out, nil
		}
		if api.IsNotFound(err) && !found {
			return out, notMember(group, client)
		}
	}
	return local()
}

// Check implements api.Groups: it checks a member from this peer now (an
// owner that cannot reach a client asks others to, before removing it).
func (s *Service) Check(ctx context.Context, group, client string) (api.CheckResponse, error) {
	m, ok := s.memberSoon(ctx, group, client)
	if !ok {
		return api.CheckResponse{}, notMember(group, client)
	}
	out := api.CheckResponse{Client: client, Incarnation: m.Incarnation, Peer: s.cfg.Self}
	if err := s.probe(ctx, m.Addr, s.probeTimeout()); err != nil {
		out.Error = api.FirstLine(err.Error())
	} else {
		out.OK = true
	}
	return out, nil
}

// Owned returns how many clients this peer checks as their owner.
func (s *Service) Owned() int { return s.live.owned() }
