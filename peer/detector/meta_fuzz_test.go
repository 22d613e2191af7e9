package detector

import (
	"reflect"
	"testing"
)

// FuzzDecodeMeta: no metadata from the network panics the decoder; what it
// accepts has ports in range and survives a round trip.
func FuzzDecodeMeta(f *testing.F) {
	f.Add(Meta{RaftPort: 8080, APIPort: 8082, Joined: true, Cluster: "0123456789abcdef"}.encode())
	f.Add([]byte(`{"r":8080,"l":true}`))
	f.Add([]byte(`{"r":-1}`))
	f.Add([]byte(`{"r":8080,"a":70000}`))
	f.Add([]byte(`{"r":1e400}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := decodeMeta(b)
		if !ok {
			if !reflect.DeepEqual(m, Meta{}) {
				t.Fatalf("rejected metadata returned %+v", m)
			}
			return
		}
		if m.RaftPort < 0 || m.RaftPort > 65535 || m.APIPort < 0 || m.APIPort > 65535 {
			t.Fatalf("ports out of range: %+v", m)
		}
		if m2, ok := decodeMeta(m.encode()); !ok || m2 != m {
			t.Fatalf("round trip of %+v: %+v, %v", m, m2, ok)
		}
	})
}
