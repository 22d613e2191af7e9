package secure

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

func newRing(t *testing.T, keys ...string) *Keyring {
	t.Helper()
	var ks [][]byte
	for _, s := range keys {
		k, err := ParseKey(s)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	r, err := NewKeyring(ks)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func genKey(t *testing.T) string {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// handshake runs a mutual TLS handshake between a server and a client
// built from a and b, and returns both sides' errors.
func handshake(t *testing.T, server, client *TLS) (error, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c1, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	defer c2.Close()
	c1.SetDeadline(time.Now().Add(5 * time.Second))
	c2.SetDeadline(time.Now().Add(5 * time.Second))
	s := tls.Server(c1, server.Server())
	c := tls.Client(c2, client.Client())
	errc := make(chan error, 1)
	go func() {
		err := s.Handshake()
		if err == nil {
			_, err = s.Read(make([]byte, 1))
		}
		c1.Close()
		errc <- err
	}()
	cerr := c.Handshake()
	if cerr == nil {
		// TLS 1.3: the server's verdict on the client comes after the
		// client's handshake ends; a write shows it.
		_, cerr = c.Write([]byte("x"))
	}
	if cerr != nil {
		c2.Close()
	}
	return <-errc, cerr
}

// TestDerivedTLS: peers holding one key complete a mutual handshake; a
// peer with another key fails it on both sides.
func TestDerivedTLS(t *testing.T) {
	k1, k2 := genKey(t), genKey(t)
	a, err := NewDerived(newRing(t, k1), "one")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewDerived(newRing(t, k1), "two")
	other, _ := NewDerived(newRing(t, k2), "rogue")
	if serr, cerr := handshake(t, a, b); serr != nil || cerr != nil {
		t.Fatalf("same key: server %v, client %v", serr, cerr)
	}
	if serr, cerr := handshake(t, a, other); serr == nil && cerr == nil {
		t.Fatal("a client with another key was accepted")
	}
	if serr, cerr := handshake(t, other, b); serr == nil && cerr == nil {
		t.Fatal("a server with another key was accepted")
	}
}

// TestRotation: install, use, remove, with the other side one step behind
// at each step, as in a rolling rotation.
func TestRotation(t *testing.T) {
	k1, k2 := genKey(t), genKey(t)
	ra, rb := newRing(t, k1), newRing(t, k1)
	a, _ := NewDerived(ra, "one")
	b, _ := NewDerived(rb, "two")
	key2, _ := ParseKey(k2)
	key1, _ := ParseKey(k1)
	step := func(what string) {
		t.Helper()
		if serr, cerr := handshake(t, a, b); serr != nil || cerr != nil {
			t.Fatalf("%s: server %v, client %v", what, serr, cerr)
		}
		if serr, cerr := handshake(t, b, a); serr != nil || cerr != nil {
			t.Fatalf("%s (reversed): server %v, client %v", what, serr, cerr)
		}
	}
	if err := ra.Install(key2); err != nil {
		t.Fatal(err)
	}
	step("a installed k2")
	rb.Install(key2)
	ra.Use(key2)
	step("a uses k2, b holds both")
	rb.Use(key2)
	ra.Remove(key1)
	step("a removed k1, b uses k2")
	rb.Remove(key1)
	step("both on k2 only")
	old, _ := NewDerived(newRing(t, k1), "old")
	if serr, cerr := handshake(t, a, old); serr == nil && cerr == nil {
		t.Fatal("a removed key still authenticates")
	}
}

func TestParseKeys(t *testing.T) {
	k := genKey(t)
	if keys, err := ParseKeys(k + "," + genKey(t)); err != nil || len(keys) != 2 {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	for in, want := range map[string]string{
		"notbase64!": "not base64",
		"AAAA":       "3 bytes",
		k + "," + k:  "given twice",
		k + ",":      "empty",
	} {
		if _, err := ParseKeys(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKeys(%q): %v, want %q", in, err, want)
		}
	}
}
