package fault

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxBody caps the size of a request body of the fault API.
const maxBody = 1 << 20

// PartitionRequest is the body of POST /faults/partition.
type PartitionRequest struct {
	// Sides lists the peer ids on each side, like [[1,2],[3,4,5]].
	Sides [][]int `json:"sides"`
}

// apiError is the body of an error response.
type apiError struct {
	Error string `json:"error"`
}

// Handler returns the HTTP fault API (see the package documentation). It
// serves the full paths /faults, /faults/pause and /faults/partition, so
// mount it on the API mux without stripping the prefix:
//
//	mux.Handle("/faults", h)
//	mux.Handle("/faults/", h)
//
// Safe for concurrent use.
func (i *Injector) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", i.handleGet)
	mux.HandleFunc("PUT /faults", i.handleSet)
	mux.HandleFunc("POST /faults", i.handleSet)
	mux.HandleFunc("DELETE /faults", i.handleClear)
	mux.HandleFunc("POST /faults/pause", i.handlePause)
	mux.HandleFunc("DELETE /faults/pause", i.handleResume)
	mux.HandleFunc("POST /faults/partition", i.handlePartition)
	mux.HandleFunc("DELETE /faults/partition", i.handleHeal)
	return mux
}

func (i *Injector) handleGet(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, i.Status())
}

func (i *Injector) handleSet(w http.ResponseWriter, r *http.Request) {
	var s State
	if err := decodeBody(w, r, &s); err != nil {
		badRequest(w, err)
		return
	}
	if err := i.SetState(s); err != nil {
		badRequest(w, err)
		return
	}
	writeJSON(w, http.StatusOK, i.Status())
}

func (i *Injector) handleClear(w http.ResponseWriter, r *http.Request) {
	i.Clear()
	writeJSON(w, http.StatusOK, i.Status())
}

func (i *Injector) handlePause(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "for" {
			badRequest(w, fmt.Errorf("unknown parameter %q (want for=DURATION, like for=10s)", k))
			return
		}
	}
	raw := q.Get("for")
	if raw == "" {
		badRequest(w, errors.New("missing parameter for (want like /faults/pause?for=10s)"))
		return
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		badRequest(w, fmt.Errorf("for=%q: not a duration (want like 10s)", raw))
		return
	}
	if d <= 0 {
		badRequest(w, fmt.Errorf("for=%q: must be positive (DELETE /faults/pause ends a pause)", raw))
		return
	}
	i.Pause(d)
	writeJSON(w, http.StatusOK, i.Status())
}

func (i *Injector) handleResume(w http.ResponseWriter, r *http.Request) {
	i.Resume()
	writeJSON(w, http.StatusOK, i.Status())
}

func (i *Injector) handlePartition(w http.ResponseWriter, r *http.Request) {
	var p PartitionRequest
	if err := decodeBody(w, r, &p); err != nil {
		badRequest(w, err)
		return
	}
	if err := i.SetPartition(p.Sides); err != nil {
		badRequest(w, fmt.Errorf("sides: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, i.Status())
}

func (i *Injector) handleHeal(w http.ResponseWriter, r *http.Request) {
	i.Heal()
	writeJSON(w, http.StatusOK, i.Status())
}

// decodeBody reads exactly one JSON value into v, refusing unknown fields,
// an empty body, trailing data and bodies over maxBody.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	var tooBig *http.MaxBytesError
	if err := dec.Decode(v); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			return errors.New("empty body: want a JSON object")
		case errors.As(err, &tooBig):
			return fmt.Errorf("body over %d bytes", maxBody)
		}
		return fmt.Errorf("bad JSON body: %w", err)
	}
	switch _, err := dec.Token(); {
	case errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &tooBig):
		return fmt.Errorf("body over %d bytes", maxBody)
	}
	return errors.New("bad JSON body: data after the JSON object")
}

// badRequest writes a 400 with err as the reason.
func badRequest(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
}

// writeJSON writes v as the JSON response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
