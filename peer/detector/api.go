package detector

import (
	"net"
	"strconv"
)

// APIAddr returns the HTTP API address (HOST:PORT) of an alive hostsfile
// peer, from the address memberlist sees it at and the API port in its
// metadata; ok is false when the peer is not alive or serves no API.
func (d *Detector) APIAddr(id int) (addr string, ok bool) {
	m, alive := d.Members()[id]
	if !alive || m.Meta.APIPort == 0 || m.Addr == nil {
		return "", false
	}
	return net.JoinHostPort(m.Addr.String(), strconv.Itoa(m.Meta.APIPort)), true
}
