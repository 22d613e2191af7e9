// Package metrics is a peer's metrics: what memberlist, Raft and raft-boltdb
// report, and roster's own (views, leader changes, direct checks,
// crash-to-view latency, reconcile steps, groups), served as JSON or in the
// Prometheus text format (Handler, mounted by node on /v1/metrics).
//
// memberlist, Raft and raft-boltdb report through
// github.com/hashicorp/go-metrics/compat, which forwards to
// github.com/armon/go-metrics unless the binary is built with the
// `hashicorpmetrics` tag (then it forwards to hashicorp/go-metrics, whose
// global sink this package does not set, and their metrics vanish; a test
// here fails in that build). Library installs armon/go-metrics' Prometheus
// sink as that package's global sink, once per process: the library metrics
// are the process's, shared by every peer an in-process cluster runs, while
// each Peer's own metrics are its own.
package metrics

import (
	"sync"

	gometrics "github.com/armon/go-metrics"
	promsink "github.com/armon/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

var library struct {
	once sync.Once
	reg  *prometheus.Registry
	err  error
}

// Library returns the process's library metrics (memberlist, Raft,
// raft-boltdb, the Go runtime and the process), installing the go-metrics
// sink on first use. The error says the sink could not be installed (the
// Gatherer then still serves the runtime and process metrics). Safe for
// concurrent use.
func Library() (prometheus.Gatherer, error) {
	library.once.Do(func() {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		library.reg = reg
		// No expiry: the libraries' metric names are a fixed set (a few
		// carry a peer id), and a counter must not vanish between scrapes.
		sink, err := promsink.NewPrometheusSinkFrom(promsink.PrometheusOpts{Registerer: reg, Name: "roster_gometrics_sink"})
		if err != nil {
			library.err = err
			return
		}
		cfg := gometrics.DefaultConfig("")
		cfg.EnableHostname = false       // no host name in gauge names
		cfg.EnableRuntimeMetrics = false // its goroutine never ends; the Go collector reports the runtime
		cfg.EnableServiceLabel = false
		cfg.EnableTypePrefix = false
		_, library.err = gometrics.NewGlobal(cfg, sink)
	})
	return library.reg, library.err
}
