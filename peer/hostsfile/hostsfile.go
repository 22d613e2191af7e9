// Package hostsfile reads the list of peers that make up a roster cluster.
//
// A hostsfile names one peer a line. The 1-based number of the line among the
// peer lines is the peer's id; blank lines and lines starting with '#' are
// ignored (a '#' after a name starts a trailing comment). A line may carry an
// address after the name: an IP ("one 127.0.0.11"), for runs without DNS, or
// a DNS name other than the peer's name ("roster-0
// roster-0.roster.default.svc.cluster.local", a Kubernetes pod behind a
// headless service), either with the peer's memberlist port
// ("one 127.0.0.1:7946").
package hostsfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

// Peer is one line of a hostsfile.
type Peer struct {
	// ID is the peer's id: its 1-based position among the peer lines.
	ID int
	// Name is the peer's name, as memberlist and the view log know it.
	Name string
	// Host is the optional address column without its port: an IP or a DNS
	// name ("" when absent).
	Host string
	// Port is the optional memberlist port of the address column (0 when absent).
	Port int
}

// File is a parsed hostsfile. It is immutable after Parse and safe for
// concurrent reads.
type File struct {
	// Path is where the file was read from, for messages.
	Path   string
	Peers  []Peer
	byName map[string]int
}

// Error says what is wrong with a hostsfile, and where.
type Error struct {
	Path string
	Line int // 0 when the problem is with the file as a whole
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("hostsfile %s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("hostsfile %s: %s", e.Path, e.Msg)
}

// Load reads and parses the hostsfile at path.
func Load(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{Path: path, Msg: "cannot read: " + err.Error()}
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse reads a hostsfile from r; path is used only in error messages.
func Parse(path string, r io.Reader) (*File, error) {
	hf := &File{Path: path, byName: map[string]int{}}
	sc := bufio.NewScanner(r)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) > 2 {
			return nil, &Error{path, lineNo, fmt.Sprintf("want \"name [address]\", got %d fields", len(fields))}
		}
		p := Peer{ID: len(hf.Peers) + 1, Name: fields[0]}
		if err := CheckName(p.Name); err != nil {
			return nil, &Error{path, lineNo, err.Error()}
		}
		if prev, dup := hf.byName[p.Name]; dup {
			return nil, &Error{path, lineNo, fmt.Sprintf("duplicate name %q (first on the line of peer %d)", p.Name, prev)}
		}
		if len(fields) == 2 {
			host, port, err := ParseAddr(fields[1])
			if err != nil {
				return nil, &Error{path, lineNo, err.Error()}
			}
			p.Host, p.Port = host, port
		}
		hf.byName[p.Name] = p.ID
		hf.Peers = append(hf.Peers, p)
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{Path: path, Line: lineNo + 1, Msg: "cannot read: " + err.Error()}
	}
	if len(hf.Peers) == 0 {
		return nil, &Error{Path: path, Msg: "no peers in file"}
	}
	return hf, nil
}

// MaxNameLen is the longest peer name accepted (a DNS label's limit is 63,
// a hostname's 253).
const MaxNameLen = 253

// CheckName checks a peer name: 1 to MaxNameLen letters, digits, '-', '_'
// or '.'. Names from the hostsfile, the command line and the cluster's
// registry (fsm) obey the same rule.
func CheckName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("bad peer name %q: want 1 to %d characters", name, MaxNameLen)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("bad peer name %q: use letters, digits, '-', '_' or '.'", name)
		}
	}
	return nil
}

// ParseAddr parses an address: an IP, a DNS name, or either with :port
// (port 0 when absent). The hostsfile's address column and --join use it.
func ParseAddr(s string) (string, int, error) {
	if ip := net.ParseIP(s); ip != nil {
		return ip.String(), 0, nil
	}
	host, portStr := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, portStr = h, p
	} else if strings.Contains(s, ":") {
		return "", 0, fmt.Errorf("bad address %q: want an IP, a DNS name, or either with :port", s)
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	} else if !isDNSName(host) {
		return "", 0, fmt.Errorf("bad address %q: %q is neither an IP nor a DNS name", s, host)
	}
	if portStr == "" {
		return host, 0, nil
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("bad address %q: port must be 1-65535", s)
	}
	return host, port, nil
}

// isDNSName reports whether s is a DNS name: dot-separated labels of 1-63
// letters, digits, '-' and '_' (Docker service names), not starting or
// ending with '-', at most 253 bytes, an optional final dot, and a last label
// that is not all digits (so a mistyped IP such as "10.0.0" is no name).
func isDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}

// IsIP reports whether the peer's address column is an IP (not a DNS name).
func (p Peer) IsIP() bool { return net.ParseIP(p.Host) != nil }

// ID returns the id of the peer called name, and whether there is one.
func (f *File) ID(name string) (int, bool) {
	id, ok := f.byName[name]
	return id, ok
}

// Peer returns the peer with the given id, and whether there is one.
func (f *File) Peer(id int) (Peer, bool) {
	if id < 1 || id > len(f.Peers) {
		return Peer{}, false
	}
	return f.Peers[id-1], true
}

// Lookup returns the peer called name, or an error that names the file.
func (f *File) Lookup(name string) (Peer, error) {
	id, ok := f.byName[name]
	if !ok {
		return Peer{}, &Error{Path: f.Path, Msg: fmt.Sprintf("this peer's name %q is not in the file (use --name)", name)}
	}
	return f.Peers[id-1], nil
}

// Empty returns a hostsfile with no peers, for a peer that learns the
// others by --join alone.
func Empty() *File { return &File{byName: map[string]int{}} }
