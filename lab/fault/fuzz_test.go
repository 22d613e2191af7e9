package fault

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzFlags: no --loss, --latency or --partition value panics its parser,
// and what they accept is a fault the injector can apply.
func FuzzFlags(f *testing.F) {
	f.Add("0.1", "50ms±20ms", "1,2|3,4,5")
	f.Add("10%", "50ms+-20ms", "one|two")
	f.Add("NaN", "1h~2h", "1|1")
	f.Add("1e400%", "-5ms", "|")
	f.Add("", "9223372036854775807ns", "0|-1")
	f.Fuzz(func(t *testing.T, loss, latency, partition string) {
		if p, err := ParseLoss(loss); err == nil && (p < 0 || p > 1) {
			t.Fatalf("ParseLoss(%q) = %v", loss, p)
		}
		if d, j, err := ParseDelay(latency); err == nil && (d < 0 || j < 0 || j > d) {
			t.Fatalf("ParseDelay(%q) = %v, %v", latency, d, j)
		}
		if sides, err := ParsePartition(partition); err == nil {
			if verr := ValidatePartition(sides); verr != nil {
				t.Fatalf("ParsePartition(%q) = %v, which is not a partition: %v", partition, sides, verr)
			}
		}
	})
}

// faultRoutes are the fault API's requests the fuzzer picks from.
var faultRoutes = []struct{ method, path string }{
	{http.MethodPut, "/faults"},
	{http.MethodPost, "/faults"},
	{http.MethodPost, "/faults/partition"},
	{http.MethodPost, "/faults/pause"},
	{http.MethodDelete, "/faults"},
	{http.MethodGet, "/faults"},
}

// FuzzAPI sends arbitrary bodies and queries to the fault API: no request
// panics it, every answer is 200 or a 4xx with a JSON reason, and the state
// it keeps stays valid.
func FuzzAPI(f *testing.F) {
	f.Add(uint8(0), "", []byte(`{"rules":[{"peers":[2],"loss":0.5}]}`))
	f.Add(uint8(2), "", []byte(`{"sides":[[1,2],[3,4,5]]}`))
	f.Add(uint8(3), "for=10s", []byte(nil))
	f.Add(uint8(3), "for=-1s&x=1", []byte(nil))
	f.Add(uint8(0), "", []byte(`{"rules":[{"loss":2}],"partition":[[1],[1]]}`))
	f.Add(uint8(1), "", []byte(`{"rules":null} {}`))
	inj := New(Options{Self: 1})
	h := inj.Handler()
	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		rt := faultRoutes[int(route)%len(faultRoutes)]
		req := httptest.NewRequest(rt.method, "http://peer"+rt.path, bytes.NewReader(body))
		req.URL.RawQuery = query
		u := req.URL
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch code := rec.Code; {
		case code == http.StatusOK:
		case code >= 400 && code < 500:
			var e apiError
			if code == http.StatusBadRequest && (json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" || strings.Contains(e.Error, "\n")) {
				t.Fatalf("%s %s: %d with body %q: want a one-line JSON reason", rt.method, u, code, rec.Body)
			}
		default:
			t.Fatalf("%s %s: status %d", rt.method, u, code)
		}
		if err := inj.State().Validate(); err != nil {
			t.Fatalf("after %s %s %q the injector holds an invalid state: %v", rt.method, u, body, err)
		}
	})
}
