package node

import (
	"context"

	"roster/peer/advertise"
)

// advertiseAddr chooses the IP this peer announces to the others (see
// package advertise) and logs why; "" leaves the choice to memberlist.
func (n *Node) advertiseAddr() string {
	c := advertise.Choose(context.Background(), advertise.Input{
		Advertise: n.cfg.Advertise, Bind: n.cfg.Bind,
		Self: n.cfg.Self, Hosts: n.cfg.Hosts, Port: n.cfg.GossipPort,
	}, advertise.System())
	n.log.Info("advertised address", "ip", c.IP, "why", c.Why)
	return c.IP
}
