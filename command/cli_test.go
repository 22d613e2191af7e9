package command

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"roster/peer/config"
)

// runArgs runs roster in process and returns its exit status and output.
func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(New(&out, &errOut), append([]string{"roster"}, args...), &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	good := writeFile(t, "hosts", "one\ntwo\n")
	dup := writeFile(t, "dup", "one\n# comment\ntwo\none\n")
	empty := writeFile(t, "empty", "# nobody\n\n")
	badAddr := writeFile(t, "addr", "one 300.1.1.1\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, "flag provided but not defined: -bogus"},
		{"missing hostsfile", []string{"-h", "/nonexistent/hosts"}, "hostsfile /nonexistent/hosts: cannot read: no such file or directory"},
		{"duplicate name", []string{"-h", dup, "--name", "one"}, dup + ":4: duplicate name \"one\""},
		{"empty hostsfile", []string{"-h", empty, "--name", "one"}, "no peers in file"},
		{"bad address", []string{"-h", badAddr, "--name", "one"}, badAddr + ":1: bad address \"300.1.1.1\""},
		{"name not in hostsfile", []string{"-h", good, "--name", "six"}, "this peer's name \"six\" is not in the file"},
		{"bad loss", []string{"-h", good, "--name", "one", "--loss", "1.5"}, "--loss"},
		{"bad latency", []string{"-h", good, "--name", "one", "--latency", "fast"}, "--latency"},
		{"bad partition", []string{"-h", good, "--name", "one", "--partition", "1|x"}, "--partition"},
		{"heal before partition", []string{"-h", good, "--name", "one", "--partition", "1|2", "--partition-at", "5s", "--heal-at", "2s"}, "--heal-at"},
		{"same ports", []string{"-h", good, "--name", "one", "--raft-port", "8081"}, "must differ"},
		{"bad log level", []string{"-h", good, "--name", "one", "--log-level", "loud"}, "--log-level"},
		{"stray argument", []string{"-h", good, "--name", "one", "extra"}, "unexpected argument"},
		{"bad start delay", []string{"-h", good, "--name", "one", "-d", "soon"}, "invalid value \"soon\" for flag -d"},
		{"bind not an IP", []string{"-h", good, "--name", "one", "--bind", "notanip"}, "--bind \"notanip\": want an IP address"},
		{"bind a name", []string{"-h", good, "--name", "one", "--bind", "localhost"}, "--bind \"localhost\": want an IP address"},
		{"advertise not an IP", []string{"-h", good, "--name", "one", "--advertise", "one.example"}, "--advertise \"one.example\": want an IP address"},
		{"short API token", []string{"-h", good, "--name", "one", "--api-token", "secret"}, "--api-token: want at least 16 characters"},
		{"API token with a space", []string{"-h", good, "--name", "one", "--api-token", "0123456789 abcdef"}, "--api-token: want printable ASCII without spaces"},
		{"token reads without a token", []string{"-h", good, "--name", "one", "--api-token-reads"}, "--api-token-reads needs --api-token"},
		{"join a bad address", []string{"--name", "one", "--join", "300.1.1.1:99999"}, "--join \"300.1.1.1:99999\": want a DNS name or an address"},
		{"join an empty target", []string{"--name", "one", "--join", ","}, "--join: want a DNS name or an address, got nothing"},
		{"join a name with a space", []string{"--name", "one", "--join", "peer s"}, "--join \"peer s\""},
		{"bootstrap-expect with a hostsfile", []string{"-h", good, "--name", "one", "--join", "peer", "--bootstrap-expect", "3"}, "--bootstrap-expect is for clusters without a hostsfile"},
		{"bootstrap-expect without join", []string{"-h", good, "--name", "one", "--bootstrap-expect", "3"}, "--bootstrap-expect"},
		{"bootstrap-expect negative", []string{"--name", "one", "--join", "peer", "--bootstrap-expect", "-1"}, "--bootstrap-expect -1: want 0 to 1000"},
		{"addr-check on with join", []string{"--name", "one", "--join", "peer", "--addr-check", "on"}, "--addr-check on needs every peer in the hostsfile"},
		{"bad name with join", []string{"--name", "a/b", "--join", "peer"}, "--name: bad peer name \"a/b\""},
		{"faults without a hostsfile id", []string{"--name", "one", "--join", "peer", "--loss", "0.1"}, "fault injection names peers by their hostsfile ids"},
		{"fault API open to the network", []string{"-h", good, "--name", "one", "--faults"}, "--faults lets anyone who reaches the API port pause or cut off this peer"},
	}
	for _, flag := range []string{"-d", "-c"} {
		for _, v := range []string{"NaN", "Inf", "-Inf", "1e20", "-1", "86401"} {
			cases = append(cases, struct {
				name string
				args []string
				want string
			}{flag + " " + v, []string{"-h", good, "--name", "one", flag, v}, "want seconds from 0 to 86400"})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runArgs(t, c.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitUsage, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], c.want) {
				t.Errorf("stderr %q, want one line containing %q", stderr, c.want)
			}
		})
	}
}

func TestHelpKeepsDashHForHostsfile(t *testing.T) {
	code, out, _ := runArgs(t, "--help")
	if code != 0 || !strings.Contains(out, "--hostsfile value, -h value") || !strings.Contains(out, "--crash-after value, -c value") {
		t.Fatalf("exit %d, help:\n%s", code, out)
	}
}

func TestPortInUseExitsTwoWithOneLine(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	hosts := writeFile(t, "hosts", "one 127.0.0.1\n")
	code, _, stderr := runArgs(t, "-h", hosts, "--name", "one", "--bind", "127.0.0.1",
		"--raft-port", strconv.Itoa(port), "--gossip-port", strconv.Itoa(freePort(t)), "--api-port", "0", "--data-dir", t.TempDir())
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != ExitUsage || len(lines) != 1 || !strings.Contains(lines[0], "raft port") || !strings.Contains(lines[0], "address already in use") {
		t.Fatalf("exit %d, stderr %q; want exit 2 and one line about the raft port in use", code, stderr)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestFaultAPINeedsTokenOrLoopback(t *testing.T) {
	for _, c := range []struct {
		bind, token string
		port        int
		ok          bool
	}{
		{"0.0.0.0", "", 8082, false},
		{"10.1.2.3", "", 8082, false},
		{"127.0.0.1", "", 8082, true},
		{"127.3.4.5", "", 8082, true},
		{"::1", "", 8082, true},
		{"0.0.0.0", "0123456789abcdef", 8082, true},
		{"0.0.0.0", "", 0, true}, // no API at all
	} {
		err := checkFaultAPI(config.Config{Bind: c.bind, APIToken: c.token, APIPort: c.port}, true)
		if (err == nil) != c.ok {
			t.Errorf("bind %s token %q port %d: %v, want ok=%v", c.bind, c.token, c.port, err, c.ok)
		}
	}
	if err := checkFaultAPI(config.Config{Bind: "0.0.0.0", APIPort: 8082}, false); err != nil {
		t.Errorf("no fault API: %v", err)
	}
}

func TestCorruptStoreExitsThreeWithOneLine(t *testing.T) {
	dir := t.TempDir()
	// A printed-view file and no raft.db: the store of a peer that had
	// state is gone.
	if err := os.WriteFile(filepath.Join(dir, "printed-view"), []byte("3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hosts := writeFile(t, "hosts", "one 127.0.0.1\n")
	code, _, stderr := runArgs(t, "-h", hosts, "--name", "one", "--bind", "127.0.0.1",
		"--raft-port", strconv.Itoa(freePort(t)), "--gossip-port", strconv.Itoa(freePort(t)), "--api-port", "0", "--data-dir", dir)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != ExitStorage || len(lines) != 1 || !strings.Contains(lines[0], filepath.Join(dir, "raft.db")+" is corrupt") ||
		!strings.Contains(lines[0], "move the data dir "+dir+" away") {
		t.Fatalf("exit %d, stderr %q; want exit %d and one line naming raft.db and what to do", code, stderr, ExitStorage)
	}
}
