package detector

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func compound(parts ...[]byte) []byte {
	out := []byte{msgCompound, byte(len(parts))}
	for _, p := range parts {
		out = append(out, byte(len(p)>>8), byte(len(p)))
	}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestCheckMessage: compressed messages are refused wherever memberlist
// would inflate them; others pass.
func TestCheckMessage(t *testing.T) {
	ping := []byte{0, 0x80}
	bomb := []byte{msgCompress, 0x82}
	crc := func(m []byte) []byte { return append([]byte{msgHasCrc, 0, 0, 0, 0}, m...) }
	for name, c := range map[string]struct {
		msg []byte
		ok  bool
	}{
		"ping":                {ping, true},
		"compound of pings":   {compound(ping, ping), true},
		"crc ping":            {crc(ping), true},
		"compressed":          {bomb, false},
		"crc compressed":      {crc(bomb), false},
		"compound compressed": {compound(ping, bomb), false},
		"nested compound":     {compound(compound(ping)), false},
		"empty":               {nil, false},
	} {
		err := checkMessage(c.msg, true)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok=%v", name, err, c.ok)
		}
	}
}

func seal(t *testing.T, key, msg, label []byte) []byte {
	t.Helper()
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, 12)
	return gcm.Seal(append([]byte{1}, nonce...), nonce, msg, label)
}

// TestCheckPacket: size, label, key and compression, as memberlist frames them.
func TestCheckPacket(t *testing.T) {
	key := make([]byte, 32)
	other := make([]byte, 32)
	other[0] = 1
	ring, _ := memberlist.NewKeyring([][]byte{key}, key)
	g := &guard{cfg: guardConfig{Keyring: ring, Label: Label}}
	from := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	label := func(b []byte) []byte {
		return append([]byte{msgHasLabel, byte(len(Label))}, append([]byte(Label), b...)...)
	}
	ping := []byte{0, 0x80}
	for name, c := range map[string]struct {
		buf []byte
		ok  bool
	}{
		"sealed ping":         {label(seal(t, key, ping, []byte(Label))), true},
		"sealed bomb":         {label(seal(t, key, []byte{msgCompress}, []byte(Label))), false},
		"other key":           {label(seal(t, other, ping, []byte(Label))), false},
		"no label":            {seal(t, key, ping, []byte(Label)), false},
		"plain":               {label(ping), false},
		"over maxPacketBytes": {label(make([]byte, maxPacketBytes)), false},
	} {
		err := g.checkPacket(&memberlist.Packet{Buf: c.buf, From: from})
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok=%v", name, err, c.ok)
		}
	}
}

// TestStreamConnCutsCompressed: a stream whose first message (after the
// label) is compressed is cut at the first read that shows it.
func TestStreamConnCutsCompressed(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	g := &guard{}
	sc := &streamConn{Conn: b, g: g, label: true, release: func() {}}
	go func() {
		a.Write(append([]byte{msgHasLabel, byte(len(Label))}, append([]byte(Label), msgCompress, 0x82)...))
	}()
	buf := make([]byte, 64)
	var err error
	for err == nil {
		_, err = sc.Read(buf)
	}
	if !errors.Is(err, errCompressed) {
		t.Fatalf("read error %v, want %v", err, errCompressed)
	}
	sc.Close()
}

// fakeTransport sends packets on an unbuffered channel until Shutdown,
// which waits for its sender, as memberlist's NetTransport does.
type fakeTransport struct {
	memberlist.NodeAwareTransport
	packets chan *memberlist.Packet
	stop    chan struct{}
	done    chan struct{}
}

func (f *fakeTransport) PacketCh() <-chan *memberlist.Packet { return f.packets }
func (f *fakeTransport) StreamCh() <-chan net.Conn           { return nil }
func (f *fakeTransport) Shutdown() error {
	close(f.stop)
	<-f.done
	return nil
}

// TestGuardShutdownDrains: Shutdown ends while the inner transport is
// still pushing packets that nobody reads (it used to wait forever).
func TestGuardShutdownDrains(t *testing.T) {
	f := &fakeTransport{packets: make(chan *memberlist.Packet), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for {
			// As memberlist's udpListen: a send that only a reader ends.
			f.packets <- &memberlist.Packet{Buf: []byte{0}, From: &net.UDPAddr{}}
			select {
			case <-f.stop:
				return
			default:
			}
		}
	}()
	g := newGuard(f, guardConfig{Label: Label})
	ended := make(chan struct{})
	go func() {
		g.Shutdown()
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not end")
	}
}
