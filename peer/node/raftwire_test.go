package node

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"

	"roster/peer/raftpeer"
)

func encodeRPC(t *testing.T, typ byte, req any) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteByte(typ)
	if err := codec.NewEncoder(&b, &codec.MsgpackHandle{}).Encode(req); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWireReaderPassesRaftRequests: requests as Raft encodes them come
// through byte for byte, and Raft's decoder reads them back.
func TestWireReaderPassesRaftRequests(t *testing.T) {
	ae := &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: 3, ID: []byte("2"), Addr: []byte("127.0.0.2:8080")},
		Term:      7, PrevLogEntry: 3, PrevLogTerm: 2, LeaderCommitIndex: 3,
		Entries: []*raft.Log{{Index: 4, Term: 7, Type: raft.LogCommand, Data: bytes.Repeat([]byte("x"), 5000)}},
	}
	vote := &raft.RequestVoteRequest{RPCHeader: raft.RPCHeader{ID: []byte("2")}, Term: 8}
	in := append(encodeRPC(t, rpcAppendEntries, ae), encodeRPC(t, rpcRequestVote, vote)...)
	var senders []string
	w := newWireReader(bytes.NewReader(in), "", func(id string) error { senders = append(senders, id); return nil })
	out, err := io.ReadAll(w)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, in) {
		t.Fatalf("bytes changed on the way")
	}
	if strings.Join(senders, ",") != "2,2" {
		t.Errorf("senders %v, want 2,2", senders)
	}
	dec := codec.NewDecoder(bytes.NewReader(out[1:]), &codec.MsgpackHandle{})
	var got raft.AppendEntriesRequest
	if err := dec.Decode(&got); err != nil || len(got.Entries) != 1 || len(got.Entries[0].Data) != 5000 {
		t.Fatalf("decoded %+v, %v", got, err)
	}
}

// thenErr reads r, then returns err.
type thenErr struct {
	r   io.Reader
	err error
}

func (t *thenErr) Read(p []byte) (int, error) {
	if n, _ := t.r.Read(p); n > 0 {
		return n, nil
	}
	return 0, t.err
}

// TestWireReaderIdleEndsQuietly: a connection idle past its deadline
// between two requests ends as if closed (Raft logs an ERROR for any other
// end: peer 1's connection to itself, made to found the cluster, printed
// one two minutes after every start); a deadline inside a request is still
// an error.
func TestWireReaderIdleEndsQuietly(t *testing.T) {
	vote := encodeRPC(t, rpcRequestVote, &raft.RequestVoteRequest{RPCHeader: raft.RPCHeader{ID: []byte("2")}, Term: 8})
	w := newWireReader(&thenErr{bytes.NewReader(vote), os.ErrDeadlineExceeded}, "", nil)
	out, err := io.ReadAll(w) // ReadAll takes io.EOF for the end
	if err != nil || !bytes.Equal(out, vote) {
		t.Fatalf("idle after a request: read %d bytes, error %v; want the request and a quiet end", len(out), err)
	}
	w = newWireReader(&thenErr{bytes.NewReader(vote[:len(vote)-2]), os.ErrDeadlineExceeded}, "", nil)
	if _, err := io.ReadAll(w); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("deadline inside a request: error %v, want the deadline", err)
	}
}

// TestWireReaderRefuses: what must never reach Raft's decoder.
func TestWireReaderRefuses(t *testing.T) {
	big := &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ID: []byte("2")},
		Entries: []*raft.Log{{Data: make([]byte, MaxRPCBytes)}}}
	cases := map[string]struct {
		in   []byte
		want string
	}{
		"unknown type":   {[]byte{9, 0x80}, "unknown raft request type"},
		"4 GiB declared": {[]byte{0, 0x81, 0xa4, 'D', 'a', 't', 'a', 0xc6, 0xff, 0xff, 0xff, 0xff}, "over"},
		"2^32 items":     {[]byte{0, 0xdd, 0xff, 0xff, 0xff, 0xff}, "over"},
		"too large":      {encodeRPC(t, rpcAppendEntries, big), "over"},
		"bad byte":       {[]byte{0, 0xc1}, "bad msgpack byte"},
		"truncated":      {[]byte{0, 0x82, 0xa2}, "unexpected EOF"},
		"wrong sender":   {encodeRPC(t, rpcTimeoutNow, &raft.TimeoutNowRequest{RPCHeader: raft.RPCHeader{ID: []byte("3")}}), "not at"},
		"snapshot > max": {encodeRPC(t, rpcInstallSnapshot, &raft.InstallSnapshotRequest{RPCHeader: raft.RPCHeader{ID: []byte("2")}, Size: MaxSnapshotBytes + 1}), "want at most"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWireReader(bytes.NewReader(c.in), "", func(id string) error {
				if id != "2" {
					return errors.New("sender " + id + " is not at 127.0.0.2")
				}
				return nil
			})
			n, err := w.Read(make([]byte, 64))
			if err == nil || !strings.Contains(err.Error(), c.want) || n != 0 {
				t.Fatalf("read %d bytes, error %v; want none and %q", n, err, c.want)
			}
		})
	}
}

// TestWireReaderPreamble: a connection meant for this peer passes its
// requests through without the preamble; one meant for another peer (its
// old address now belongs to this one) is refused before any request.
func TestWireReaderPreamble(t *testing.T) {
	vote := encodeRPC(t, rpcRequestVote, &raft.RequestVoteRequest{RPCHeader: raft.RPCHeader{ID: []byte("2")}, Term: 8})
	pre := func(id string) []byte {
		var b bytes.Buffer
		if err := raftpeer.WritePreamble(&b, id); err != nil {
			t.Fatal(err)
		}
		return append(b.Bytes(), vote...)
	}
	out, err := io.ReadAll(newWireReader(bytes.NewReader(pre("1")), "1", nil))
	if err != nil || !bytes.Equal(out, vote) {
		t.Fatalf("meant for 1, read by 1: %d bytes (want the request's %d), %v", len(out), len(vote), err)
	}
	_, err = io.ReadAll(newWireReader(bytes.NewReader(pre("3")), "1", nil))
	if !errors.Is(err, raftpeer.ErrMisdirected) {
		t.Fatalf("meant for 3, read by 1: %v, want ErrMisdirected", err)
	}
	// The preamble only opens a connection: later, its byte is no request type.
	_, err = io.ReadAll(newWireReader(bytes.NewReader(append(append([]byte(nil), vote...), pre("1")...)), "1", nil))
	if err == nil || !strings.Contains(err.Error(), "unknown raft request type") {
		t.Fatalf("preamble after a request: %v, want unknown type", err)
	}
}
