package raftpeer

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
)

func TestTagSplit(t *testing.T) {
	for _, c := range []struct{ id, addr string }{
		{"3", "10.0.0.5:8080"}, {"12", "[::1]:8080"}, {"1", "one:8080"},
	} {
		id, addr := Split(Tag(c.id, c.addr))
		if id != c.id || addr != c.addr {
			t.Errorf("Split(Tag(%q, %q)) = %q, %q", c.id, c.addr, id, addr)
		}
	}
	if id, addr := Split("10.0.0.5:8080"); id != "" || addr != "10.0.0.5:8080" {
		t.Errorf("untagged: %q, %q", id, addr)
	}
}

func TestPreamble(t *testing.T) {
	var b bytes.Buffer
	if err := WritePreamble(&b, "3"); err != nil {
		t.Fatal(err)
	}
	read := func(self string) error {
		r := bufio.NewReader(bytes.NewReader(b.Bytes()))
		if m, _ := r.ReadByte(); m != Magic {
			t.Fatalf("first byte %q, want %q", m, Magic)
		}
		return ReadPreamble(r, self)
	}
	if err := read("3"); err != nil {
		t.Errorf("meant for 3, read by 3: %v", err)
	}
	if err := read("4"); !errors.Is(err, ErrMisdirected) {
		t.Errorf("meant for 3, read by 4: %v, want ErrMisdirected", err)
	}
	if err := WritePreamble(&b, ""); err == nil {
		t.Error("an empty target id was written")
	}
	// Truncated and oversized preambles are errors, not panics.
	for _, in := range [][]byte{{}, {2, '1'}, {0}, {200}} {
		if err := ReadPreamble(bufio.NewReader(bytes.NewReader(in)), "1"); err == nil {
			t.Errorf("preamble % x read without error", in)
		}
	}
}
