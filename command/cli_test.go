package command

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
