package node

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"roster/peer/raftpeer"
)

// Bounds on what one Raft connection can make a peer hold. roster's
// entries are small (a view change is under a kilobyte for a hundred
// peers), and an AppendEntries carries at most Raft's MaxAppendEntries (64)
// of them.
const (
	// MaxRPCBytes caps one Raft request, entries included.
	MaxRPCBytes = 1 << 20
	// MaxSnapshotBytes caps the snapshot data following an InstallSnapshot
	// request (streamed to disk, not held in memory).
	MaxSnapshotBytes = 64 << 20
)

// Raft's request types on the wire (raft/net_transport.go): a type byte,
// then the request in msgpack, then, for InstallSnapshot, the snapshot.
const (
	rpcAppendEntries byte = iota
	rpcRequestVote
	rpcInstallSnapshot
	rpcTimeoutNow
	rpcRequestPreVote
	rpcTypes
)

var rpcNames = [...]string{"AppendEntries", "RequestVote", "InstallSnapshot", "TimeoutNow", "RequestPreVote"}

// errRPCTooLarge is returned for a request over MaxRPCBytes.
var errRPCTooLarge = fmt.Errorf("raft request over %d bytes", MaxRPCBytes)

// rpcHead is the part of a request the guard reads: who sends it (Raft's
// RPCHeader is embedded, so its fields are at the top of the map), and the
// size of the snapshot that follows an InstallSnapshot.
type rpcHead struct {
	ID   []byte
	Size int64
}

// wireReader reads Raft requests off an accepted connection one whole
// request at a time, so that Raft's decoder only sees requests that are
// well-formed msgpack within MaxRPCBytes, of a known type, and (when check
// is set) sent by the peer the connection comes from. A connection may
// start with a preamble naming the peer it is meant for (package
// raftpeer): one that names another peer than self is refused. Not safe
// for concurrent use (Raft reads a connection from one goroutine).
type wireReader struct {
	br      *bufio.Reader
	check   func(id string) error // nil: senders are not checked
	self    string                // this peer's id, for the preamble
	started bool                  // the first request (or preamble) was read
	buf     bytes.Buffer          // the current request, served to Raft
	raw     int64                 // snapshot bytes still to pass through
}

func newWireReader(r io.Reader, self string, check func(id string) error) *wireReader {
	return &wireReader{br: bufio.NewReaderSize(r, 16<<10), self: self, check: check}
}

// Read serves the current request, reading and checking the next one first
// when it is used up.
func (w *wireReader) Read(p []byte) (int, error) {
	if w.buf.Len() > 0 {
		return w.buf.Read(p)
	}
	if w.raw > 0 {
		if int64(len(p)) > w.raw {
			p = p[:w.raw]
		}
		n, err := w.br.Read(p)
		w.raw -= int64(n)
		return n, err
	}
	if err := w.next(); err != nil {
		return 0, err
	}
	return w.buf.Read(p)
}

// next reads one whole request into buf and checks it. A connection that
// sent nothing for idleTimeout between two requests ends with io.EOF, as one
// the other side closed: that is housekeeping (the dialing side replaces a
// connection it left idle, see dialedConn), and Raft logs an ERROR for any
// other end ("failed to decode incoming command"). Peer 1 leaves one such
// connection to itself after founding a cluster (standNow), and a candidate
// one to each voter after an election. A stall inside a request stays an
// error.
func (w *wireReader) next() error {
	w.buf.Reset()
	t, err := w.br.ReadByte()
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return io.EOF
		}
		return err
	}
	if !w.started {
		w.started = true
		if t == raftpeer.Magic {
			if err := raftpeer.ReadPreamble(w.br, w.self); err != nil {
				return err
			}
			if t, err = w.br.ReadByte(); err != nil {
				return err
			}
		}
	}
	if t >= rpcTypes {
		return fmt.Errorf("unknown raft request type %d", t)
	}
	w.buf.WriteByte(t)
	if err := scanMsgpack(w.br, &w.buf, MaxRPCBytes); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("raft %s: %w", rpcNames[t], err)
	}
	if w.check == nil && t != rpcInstallSnapshot {
		return nil
	}
	var head rpcHead
	if err := codec.NewDecoderBytes(w.buf.Bytes()[1:], &codec.MsgpackHandle{}).Decode(&head); err != nil {
		return fmt.Errorf("raft %s: %w", rpcNames[t], err)
	}
	if w.check != nil {
		if err := w.check(string(head.ID)); err != nil {
			return fmt.Errorf("raft %s: %w", rpcNames[t], err)
		}
	}
	if t == rpcInstallSnapshot {
		if head.Size < 0 || head.Size > MaxSnapshotBytes {
			return fmt.Errorf("raft InstallSnapshot of %d bytes: want at most %d", head.Size, MaxSnapshotBytes)
		}
		w.raw = head.Size
	}
	return nil
}

// scanMsgpack copies exactly one msgpack object from r to out, failing if
// it is malformed or would take out past limit bytes. It holds no state
// beyond a count of objects still to read, so nesting costs nothing, and a
// declared length is checked before anything is read for it.
func scanMsgpack(r *bufio.Reader, out *bytes.Buffer, limit int) error {
	pending := uint64(1)
	for pending > 0 {
		pending--
		b, err := r.ReadByte()
		if err != nil {
			return err
		}
		out.WriteByte(b)
		var skip, items uint64 // bytes to copy; objects to read after this one
		switch {
		case b <= 0x7f, b >= 0xe0, b == 0xc0, b == 0xc2, b == 0xc3:
		case b >= 0x80 && b <= 0x8f:
			items = 2 * uint64(b&0x0f)
		case b >= 0x90 && b <= 0x9f:
			items = uint64(b & 0x0f)
		case b >= 0xa0 && b <= 0xbf:
			skip = uint64(b & 0x1f)
		default:
			var n uint64
			switch b {
			case 0xc4, 0xd9, 0xcc, 0xd0: // bin8, str8 / uint8, int8
				n = 1
			case 0xc5, 0xda, 0xcd, 0xd1, 0xdc, 0xde: // bin16, str16 / uint16, int16 / array16, map16
				n = 2
			case 0xc6, 0xdb, 0xce, 0xd2, 0xca, 0xdd, 0xdf: // bin32, str32 / uint32, int32, float32 / array32, map32
				n = 4
			case 0xcf, 0xd3, 0xcb: // uint64, int64, float64
				n = 8
			case 0xc7:
				n = 1 // ext8: length, then type
			case 0xc8:
				n = 2
			case 0xc9:
				n = 4
			case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1..16: type and data
				skip = 1 + 1<<(b-0xd4)
			default:
				return fmt.Errorf("bad msgpack byte 0x%02x", b)
			}
			if n > 0 {
				v, err := readUint(r, out, int(n))
				if err != nil {
					return err
				}
				switch b {
				case 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb:
					skip = v
				case 0xdc, 0xdd:
					items = v
				case 0xde, 0xdf:
					items = 2 * v
				case 0xc7, 0xc8, 0xc9:
					skip = v + 1
				}
			}
		}
		room := uint64(limit - out.Len())
		if skip > room || items > room || pending+items > room {
			return errRPCTooLarge
		}
		pending += items
		if skip > 0 {
			if _, err := io.CopyN(out, r, int64(skip)); err != nil {
				return err
			}
		}
	}
	return nil
}

// readUint reads a big-endian unsigned integer of n bytes (1, 2, 4 or 8),
// copying it to out.
func readUint(r *bufio.Reader, out *bytes.Buffer, n int) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:n]); err != nil {
		return 0, err
	}
	out.Write(b[:n])
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b[:2])), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b[:4])), nil
	}
	return binary.BigEndian.Uint64(b[:8]), nil
}
