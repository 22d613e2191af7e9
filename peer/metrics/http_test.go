package metrics

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func get(t *testing.T, h http.Handler, url, accept string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerFormats(t *testing.T) {
	p := NewPeer()
	p.ViewInstalled(4, []int{1, 2, 3})
	p.LeaderObserved(2)
	p.ReconcileStep("commit", StepOK)
	h := p.Handler()

	// Prometheus text, by parameter and by Accept header.
	for _, tc := range []struct{ url, accept string }{
		{"/v1/metrics?format=prometheus", ""},
		{"/v1/metrics", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"},
	} {
		rec := get(t, h, tc.url, tc.accept)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
			t.Fatalf("%s: %d %q", tc.url, rec.Code, rec.Header().Get("Content-Type"))
		}
		parser := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := parser.TextToMetricFamilies(rec.Body)
		if err != nil {
			t.Fatalf("%s: the Prometheus text parser: %v", tc.url, err)
		}
		if v := fams["roster_view_id"].GetMetric()[0].GetGauge().GetValue(); v != 4 {
			t.Errorf("roster_view_id = %v, want 4", v)
		}
		if v := fams["roster_reconcile_steps_total"].GetMetric()[0].GetCounter().GetValue(); v != 1 {
			t.Errorf("roster_reconcile_steps_total = %v, want 1", v)
		}
		if _, ok := fams["roster_crash_to_view_seconds"]; !ok {
			t.Error("no roster_crash_to_view_seconds histogram")
		}
	}

	// JSON by default.
	rec := get(t, h, "/v1/metrics", "*/*")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("json: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var fams map[string]Family
	if err := json.Unmarshal(rec.Body.Bytes(), &fams); err != nil {
		t.Fatal(err)
	}
	members := fams["roster_view_members"]
	if members.Type != "gauge" || len(members.Metrics) != 1 || float64(*members.Metrics[0].Value) != 3 {
		t.Errorf("roster_view_members = %+v", members)
	}
	steps := fams["roster_reconcile_steps_total"]
	if steps.Type != "counter" || steps.Metrics[0].Labels["step"] != "commit" || steps.Metrics[0].Labels["result"] != "ok" {
		t.Errorf("roster_reconcile_steps_total = %+v", steps)
	}
	hist := fams["roster_crash_to_view_seconds"]
	if hist.Type != "histogram" || hist.Metrics[0].Buckets["+Inf"] != 0 || hist.Metrics[0].Buckets["1"] != 0 {
		t.Errorf("roster_crash_to_view_seconds = %+v", hist)
	}

	if rec := get(t, h, "/v1/metrics?format=xml", ""); rec.Code != 400 || !strings.Contains(rec.Body.String(), `format "xml"`) {
		t.Errorf("format=xml: %d %q", rec.Code, rec.Body.String())
	}
}

// TestFloatJSON checks that NaN and infinities (an empty summary's
// quantiles) encode as null, not as an encoding error.
func TestFloatJSON(t *testing.T) {
	b, err := json.Marshal(map[string]Float{"nan": Float(math.NaN()), "inf": Float(math.Inf(1)), "x": 1.5})
	if err != nil || string(b) != `{"inf":null,"nan":null,"x":1.5}` {
		t.Errorf("got %s, %v", b, err)
	}
}
