// Command fakepeer stands in for a roster peer in the lab runner's tests. It
// takes the peer's flags, checks that the runner placed it consistently (its
// --bind address is its hostsfile address, its ports are free), prints a view
// line like a real peer, and exits the way a test asks.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"roster/peer/hostsfile"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "client" {
		client(os.Args[2:])
		return
	}
	var (
		hosts, name, bind, dataDir     string
		delay, crashAfter, exitAfter   float64
		raftPort, gossipPort, apiPort  int
		exitStatus                     int
		leaderCrash, ignoreTerm, spawn bool
		failFirst                      bool
	)
	fs := flag.NewFlagSet("fakepeer", flag.ExitOnError)
	fs.StringVar(&hosts, "h", "", "hostsfile")
	fs.StringVar(&hosts, "hostsfile", "", "hostsfile")
	fs.Float64Var(&delay, "d", 0, "start delay, seconds")
	fs.Float64Var(&delay, "delay", 0, "start delay, seconds")
	fs.Float64Var(&crashAfter, "c", 0, "crash after, seconds")
	fs.Float64Var(&crashAfter, "crash-after", 0, "crash after, seconds")
	fs.BoolVar(&leaderCrash, "t", false, "leader crash")
	fs.BoolVar(&leaderCrash, "leader-crash", false, "leader crash")
	fs.StringVar(&name, "name", "", "peer name")
	fs.StringVar(&bind, "bind", "", "bind address")
	fs.IntVar(&raftPort, "raft-port", 8080, "")
	fs.IntVar(&gossipPort, "gossip-port", 8081, "")
	fs.IntVar(&apiPort, "api-port", 8082, "")
	fs.StringVar(&dataDir, "data-dir", "", "")
	// Test controls.
	fs.Float64Var(&exitAfter, "exit-after", 0, "exit with --exit-status after this many seconds")
	fs.IntVar(&exitStatus, "exit-status", 0, "")
	fs.BoolVar(&ignoreTerm, "ignore-term", false, "ignore SIGTERM")
	fs.BoolVar(&spawn, "spawn", false, "start a sleeping child process")
	fs.BoolVar(&failFirst, "fail-first", false, "exit 3 on the first start with this data dir")
	fs.Parse(os.Args[1:])

	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}

	hf, err := hostsfile.Load(hosts)
	if err != nil {
		fail(2, err.Error())
	}
	self, err := hf.Lookup(name)
	if err != nil {
		fail(2, err.Error())
	}
	if self.Host != bind {
		fail(4, fmt.Sprintf("hostsfile address %q is not --bind %q", self.Host, bind))
	}
	if self.Port != 0 && self.Port != gossipPort {
		fail(4, fmt.Sprintf("hostsfile port %d is not --gossip-port %d", self.Port, gossipPort))
	}
	for _, p := range []int{raftPort, gossipPort, apiPort} {
		l, err := net.Listen("tcp4", net.JoinHostPort(bind, strconv.Itoa(p)))
		if err != nil {
			fail(5, err.Error())
		}
		defer l.Close()
	}
	u, err := net.ListenPacket("udp4", net.JoinHostPort(bind, strconv.Itoa(gossipPort)))
	if err != nil {
		fail(5, err.Error())
	}
	defer u.Close()

	starts := 1
	if dataDir != "" {
		b, _ := os.ReadFile(filepath.Join(dataDir, "starts"))
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			starts = n + 1
		}
		os.WriteFile(filepath.Join(dataDir, "starts"), []byte(strconv.Itoa(starts)), 0o644)
	}
	fmt.Printf("fake peer %s id %d start %d at %s ports %d %d %d pid %d\n", name, self.ID, starts, bind, raftPort, gossipPort, apiPort, os.Getpid())
	if spawn {
		c := exec.Command("sleep", "60")
		if err := c.Start(); err != nil {
			fail(6, err.Error())
		}
		fmt.Printf("grandchild %d\n", c.Process.Pid)
	}
	if failFirst && starts == 1 {
		fail(3, "failing the first start")
	}

	wait := func(secs float64) <-chan time.Time {
		if secs <= 0 {
			return nil
		}
		return time.After(time.Duration(secs * float64(time.Second)))
	}
	if delay > 0 {
		select {
		case <-wait(delay):
		case <-term:
			os.Exit(0)
		}
	}
	// Every peer prints the same view 1 of every hostsfile peer, so that a
	// run where all of them start passes the checker.
	var ids []string
	for _, p := range hf.Peers {
		ids = append(ids, strconv.Itoa(p.ID))
	}
	fmt.Fprintf(os.Stderr, "{peer_id:%d, view_id: 1, leader: 1, memb_list: [%s]}\n", self.ID, strings.Join(ids, ","))
	fmt.Fprintf(os.Stderr, "%s [WARN]  fake: a diagnostic line\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	select {
	case <-wait(crashAfter):
		fmt.Fprintf(os.Stderr, "{peer_id:%d, view_id: 1, leader: 1, message:\"crashing\"}\n", self.ID)
		os.Exit(1)
	case <-wait(exitAfter):
		os.Exit(exitStatus)
	case <-term:
		fmt.Println("leaving")
		os.Exit(0)
	}
}

// client stands in for `roster client`: it listens on --listen, prints
// the peers it was given, joining and a group view with itself, and crashes
// with -c like the real client.
func client(args []string) {
	var group, id, peers, listen string
	var crashAfter float64
	fs := flag.NewFlagSet("fakeclient", flag.ExitOnError)
	fs.StringVar(&group, "group", "", "")
	fs.StringVar(&id, "id", "", "")
	fs.StringVar(&peers, "peers", "", "")
	fs.StringVar(&listen, "listen", "", "")
	fs.Float64Var(&crashAfter, "c", 0, "")
	fs.Parse(args)
	l, err := net.Listen("tcp4", listen)
	if err != nil {
		fail(5, err.Error())
	}
	defer l.Close()
	for _, p := range strings.Split(peers, ",") {
		if _, _, err := net.SplitHostPort(p); err != nil {
			fail(4, fmt.Sprintf("--peers entry %q: %v", p, err))
		}
	}
	fmt.Printf("fake client %s peers %s listen %s\n", id, peers, l.Addr())
	fmt.Fprintf(os.Stderr, "{client:%q, group:%q, group_view: 0, message:\"joining\"}\n", id, group)
	fmt.Fprintf(os.Stderr, "{client:%q, group:%q, group_view: 4, members: [%q]}\n", id, group, id)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	var crash <-chan time.Time
	if crashAfter > 0 {
		crash = time.After(time.Duration(crashAfter * float64(time.Second)))
	}
	select {
	case <-crash:
		fmt.Fprintf(os.Stderr, "{client:%q, group:%q, group_view: 4, message:\"crashing\"}\n", id, group)
		os.Exit(1)
	case <-term:
		fmt.Fprintf(os.Stderr, "{client:%q, group:%q, group_view: 4, message:\"leaving\"}\n", id, group)
	}
}

func fail(status int, msg string) {
	fmt.Fprintln(os.Stderr, "fakepeer:", msg)
	os.Exit(status)
}
