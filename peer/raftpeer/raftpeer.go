// Package raftpeer makes sure a Raft request reaches the peer it is meant
// for. Raft knows its servers by id and address and pools connections by
// address; when peers move (a container reconnected with another IP), an
// old address may belong to another peer by now, and a request for peer X
// dialed there would land on peer Y, which would answer it: Y's vote or
// acknowledgement would count as X's. So:
//
//   - Transport tags every address Raft dials with the id of the server it
//     means ("3/10.0.0.5:8080", see Tag), and dials the peer where failure
//     detection sees it now when that differs from the Raft configuration;
//     connections are pooled by tagged address, so one meant for X is never
//     reused for Y;
//   - the stream layer, dialing a tagged address, starts the connection
//     with a preamble naming the target (WritePreamble), and the accepting
//     peer closes a connection whose preamble names another peer
//     (ReadPreamble).
//
// The preamble is optional on the wire (a connection without one carries
// plain Raft requests), so it guards against misdirection, not attacks:
// the sender check of the Raft wire guard does that.
package raftpeer

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// sep separates the target id from the address in a tagged address.
const sep = "/"

// Tag returns addr tagged with the id of the server it is meant for.
func Tag(id, addr string) string { return id + sep + addr }

// Split returns the id and the address of a tagged address; an untagged
// one has no id.
func Split(tagged string) (id, addr string) {
	if i := strings.Index(tagged, sep); i >= 0 {
		return tagged[:i], tagged[i+len(sep):]
	}
	return "", tagged
}

// Addr returns the address part of a tagged (or untagged) address.
func Addr(tagged string) string {
	_, addr := Split(tagged)
	return addr
}

// Magic is the first byte of a preamble. Raft's request types are 0-4, so a
// connection's first byte tells a preamble (or a tether's, TetherMagic)
// from a request.
const Magic byte = 'R'

// maxID bounds the target id of a preamble.
const maxID = 64

// WritePreamble writes the preamble naming the target id.
func WritePreamble(w io.Writer, id string) error {
	if err := writeID(w, Magic, id); err != nil {
		return fmt.Errorf("raft preamble: target %w", err)
	}
	return nil
}

// writeID writes magic, then id length-prefixed.
func writeID(w io.Writer, magic byte, id string) error {
	if len(id) == 0 || len(id) > maxID {
		return fmt.Errorf("id of %d bytes, want 1-%d", len(id), maxID)
	}
	b := make([]byte, 0, 2+len(id))
	b = append(b, magic, byte(len(id)))
	b = append(b, id...)
	_, err := w.Write(b)
	return err
}

// ErrMisdirected is returned by ReadPreamble for a connection meant for
// another peer.
var ErrMisdirected = errors.New("raft connection meant for another peer")

// ReadPreamble reads the rest of a preamble whose Magic byte was read, and
// checks that it names self.
func ReadPreamble(r io.ByteReader, self string) error {
	id, err := readID(r)
	if err != nil {
		return fmt.Errorf("raft preamble: %w", err)
	}
	if id != self {
		return fmt.Errorf("%w: peer %q, this is peer %q", ErrMisdirected, id, self)
	}
	return nil
}

// readID reads a length-prefixed peer id of 1 to maxID bytes.
func readID(r io.ByteReader) (string, error) {
	n, err := r.ReadByte()
	if err != nil {
		return "", unexpectedEOF(err)
	}
	if n == 0 || n > maxID {
		return "", fmt.Errorf("id of %d bytes, want 1-%d", n, maxID)
	}
	id := make([]byte, n)
	for i := range id {
		if id[i], err = r.ReadByte(); err != nil {
			return "", unexpectedEOF(err)
		}
	}
	return string(id), nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// TetherMagic is the first byte of a tether: a connection a follower holds
// open to its leader, carrying nothing after its preamble, so that either
// side learns at once when the other's process dies (its kernel closes the
// connection). The preamble is TetherMagic, the sender's id length, the
// sender's id.
const TetherMagic byte = 'T'

// WriteTether writes a tether's preamble naming the sender id.
func WriteTether(w io.Writer, sender string) error {
	if err := writeID(w, TetherMagic, sender); err != nil {
		return fmt.Errorf("raft tether: sender %w", err)
	}
	return nil
}

// ReadTether reads the rest of a tether's preamble whose TetherMagic byte
// was read, and returns the sender id it names.
func ReadTether(r io.ByteReader) (string, error) {
	id, err := readID(r)
	if err != nil {
		return "", fmt.Errorf("raft tether: %w", err)
	}
	return id, nil
}
