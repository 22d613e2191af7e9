package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Handler serves the peer's metrics: JSON by default, the Prometheus text
// format with ?format=prometheus (or, without format, when the Accept
// header asks for text/plain or OpenMetrics, as a Prometheus server does).
// A metric family that cannot be gathered is left out (the others are
// served). Safe for concurrent use.
func (p *Peer) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format := r.URL.Query().Get("format")
		if format == "" {
			format = "json"
			if a := r.Header.Get("Accept"); strings.Contains(a, "text/plain") || strings.Contains(a, "application/openmetrics-text") {
				format = "prometheus"
			}
		}
		if format != "json" && format != "prometheus" {
			http.Error(w, fmt.Sprintf("format %q: want json or prometheus", format), http.StatusBadRequest)
			return
		}
		families, _ := p.Gatherer().Gather() // partial on error: serve what was gathered
		var body bytes.Buffer
		ctype := "application/json"
		if format == "prometheus" {
			f := expfmt.NewFormat(expfmt.TypeTextPlain)
			enc := expfmt.NewEncoder(&body, f)
			for _, mf := range families {
				if err := enc.Encode(mf); err != nil {
					http.Error(w, "encoding "+mf.GetName()+": "+err.Error(), http.StatusInternalServerError)
					return
				}
			}
			ctype = string(f)
		} else if err := json.NewEncoder(&body).Encode(toJSON(families)); err != nil {
			http.Error(w, "encoding: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Write(body.Bytes())
	})
}

// Family is one metric family in the JSON format.
type Family struct {
	Type    string   `json:"type"` // counter, gauge, summary, histogram, untyped
	Help    string   `json:"help,omitempty"`
	Metrics []Sample `json:"metrics"`
}

// Sample is one metric of a family in the JSON format: Value for a counter,
// gauge or untyped metric; Count, Sum and Quantiles or Buckets (upper bound
// -> cumulative count) for a summary or histogram. NaN and infinite values
// are null.
type Sample struct {
	Labels    map[string]string `json:"labels,omitempty"`
	Value     *Float            `json:"value,omitempty"`
	Count     *uint64           `json:"count,omitempty"`
	Sum       *Float            `json:"sum,omitempty"`
	Quantiles map[string]Float  `json:"quantiles,omitempty"`
	Buckets   map[string]uint64 `json:"buckets,omitempty"`
}

// Float is a float64 that encodes NaN and infinities as null.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// toJSON maps metric family names to families.
func toJSON(families []*dto.MetricFamily) map[string]Family {
	out := make(map[string]Family, len(families))
	for _, mf := range families {
		fam := Family{Type: strings.ToLower(mf.GetType().String()), Help: mf.GetHelp(), Metrics: []Sample{}}
		for _, m := range mf.GetMetric() {
			s := Sample{}
			if len(m.GetLabel()) > 0 {
				s.Labels = map[string]string{}
				for _, l := range m.GetLabel() {
					s.Labels[l.GetName()] = l.GetValue()
				}
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				s.Value = ptr(Float(m.GetCounter().GetValue()))
			case dto.MetricType_GAUGE:
				s.Value = ptr(Float(m.GetGauge().GetValue()))
			case dto.MetricType_UNTYPED:
				s.Value = ptr(Float(m.GetUntyped().GetValue()))
			case dto.MetricType_SUMMARY:
				sm := m.GetSummary()
				s.Count, s.Sum = ptr(sm.GetSampleCount()), ptr(Float(sm.GetSampleSum()))
				s.Quantiles = map[string]Float{}
				for _, q := range sm.GetQuantile() {
					s.Quantiles[strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64)] = Float(q.GetValue())
				}
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				s.Count, s.Sum = ptr(h.GetSampleCount()), ptr(Float(h.GetSampleSum()))
				s.Buckets = map[string]uint64{"+Inf": h.GetSampleCount()}
				for _, b := range h.GetBucket() {
					s.Buckets[strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)] = b.GetCumulativeCount()
				}
			}
			fam.Metrics = append(fam.Metrics, s)
		}
		out[mf.GetName()] = fam
	}
	return out
}

func ptr[T any](v T) *T { return &v }
