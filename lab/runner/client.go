package runner

import (
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
)

// ClientCommand is the first word of a service that runs a client of a
// group (`roster client --group G --id C --peers a:8082,b:8082 ...`).
const ClientCommand = "client"

// Client reports whether the service runs `roster client`: a tool (not in
// the hostsfile) that joins a group through the peers, prints group lines
// the checker judges, and may crash on cue (-c) like a peer.
func (s Service) Client() bool {
	return len(s.Args) > 0 && s.Args[0] == ClientCommand
}

// ClientID returns a client service's --id ("" when it has none).
func (s Service) ClientID() string {
	_, v, _, _ := flagValue(s.Args, "id")
	return v
}

// ClientGroup returns a client service's --group ("" when it has none).
func (s Service) ClientGroup() string {
	_, v, _, _ := flagValue(s.Args, "group")
	return v
}

// clientArgs returns the argument list of a client process: its --peers
// entries that name a peer of the run (by peer or service name, any port)
// become that peer's API address, and its --listen becomes listen (an
// address on this machine the peers can check), so a compose file's
// `--peers one:8082,two:8082 --listen :7070` works unchanged.
func clientArgs(args []string, eps []Endpoint, listen string) []string {
	out := slices.Clone(args)
	byName := map[string]Endpoint{}
	for _, ep := range eps {
		if ep.Peer != "" {
			byName[ep.Peer] = ep
			byName[ep.Service] = ep
		}
	}
	if idx, v, combined, ok := flagValue(out, "peers"); ok {
		var list []string
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			host := item
			if h, _, err := net.SplitHostPort(item); err == nil {
				host = h
			}
			if ep, ok := byName[host]; ok {
				item = ep.APIAddr()
			}
			if item != "" {
				list = append(list, item)
			}
		}
		setFlag(out, idx, combined, strings.Join(list, ","))
	}
	if idx, _, combined, ok := flagValue(out, "listen"); ok {
		setFlag(out, idx, combined, listen)
	} else {
		out = append(out, "--listen", listen)
	}
	return out
}

// setFlag sets the value flagValue found at idx.
func setFlag(args []string, idx int, combined bool, v string) {
	if combined {
		flag, _, _ := strings.Cut(args[idx], "=")
		args[idx] = flag + "=" + v
		return
	}
	args[idx] = v
}

// clientListen chooses where the k-th client of a run answers its checks.
// Where the peers have addresses of their own (127.X.Y.11, .12, ...), the
// client gets 127.X.Y.(101+k) and the port of its --listen (7070 when it
// names none), as under Docker; otherwise 127.0.0.1 and a free port below
// the ephemeral range (so that no outgoing connection takes it before the
// client binds it).
func clientListen(k int, args []string, peerIPs []string) (string, error) {
	port := 7070
	if _, v, _, ok := flagValue(args, "listen"); ok {
		if _, p, err := net.SplitHostPort(v); err == nil {
			if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65536 {
				port = n
			}
		}
	}
	if len(peerIPs) > 0 && k < 150 {
		if ip := net.ParseIP(peerIPs[0]).To4(); ip != nil && ip[0] == 127 && ip[3] >= 11 && !ip.Equal(net.IPv4(127, 0, 0, 1)) {
			own := net.IPv4(127, ip[1], ip[2], byte(101+k)).String()
			if freeTCP(own, port) {
				return net.JoinHostPort(own, strconv.Itoa(port)), nil
			}
		}
	}
	for range 200 {
		p := portLow + rand.IntN(portHigh-portLow)
		if freeTCP("127.0.0.1", p) {
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
		}
	}
	return "", fmt.Errorf("no free port for a client on 127.0.0.1")
}

// KilledClients returns the ids of the clients that were down at the end of
// the run without having announced it (their last exit was not an expected
// crash): the checker treats them as crashed.
func (r *Result) KilledClients() []string {
	var ids []string
	for _, s := range r.Services {
		if !s.Client || !s.Down || len(s.Exits) == 0 || s.Exits[len(s.Exits)-1].Crashed {
			continue
		}
		ids = append(ids, s.ClientID)
	}
	slices.Sort(ids)
	return ids
}

// freeTCP reports whether TCP port on ip can be bound now.
func freeTCP(ip string, port int) bool {
	l, err := net.Listen("tcp4", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
