package groupclient

import (
	"encoding/json"
	"net"
	"net/http"
	"time"

	"roster/peer/api"
)

// Health returns what the member says of itself on its health address.
func (m *Member) Health() api.ClientHealth {
	m.mu.Lock()
	defer m.mu.Unlock()
	return api.ClientHealth{
		Client: m.cfg.Client, Group: m.cfg.Group,
		Incarnation: m.inc, Index: m.printed, Member: m.in, OK: m.in,
	}
}

// ServeHealth answers GET /health (200 while the member runs) and GET
// /ready (200 when it is in its group, 503 otherwise) on ln, with its
// api.ClientHealth: what `roster health`, the image's HEALTHCHECK, asks.
// It returns when ln is closed.
func ServeHealth(ln net.Listener, m *Member) {
	answer := func(ready bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			h := m.Health()
			code := http.StatusOK
			if ready && !h.OK {
				code = http.StatusServiceUnavailable
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(h)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /health", answer(false))
	mux.Handle("GET /ready", answer(true))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	srv.Serve(ln)
}
