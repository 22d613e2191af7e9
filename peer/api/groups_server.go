package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Groups is what the groups API asks of the running peer. Its methods are
// called from HTTP handler goroutines and must be safe for concurrent use.
// They get checked input; an error that is an *HTTPError is answered with
// its code, message, Retry-After and index, any other with 500.
type Groups interface {
	// Join admits a client and answers once the join committed.
	Join(ctx context.Context, group string, req JoinRequest, o Origin) (JoinResponse, error)
	// Leave removes a client and answers once the leave committed.
	Leave(ctx context.Context, group string, req LeaveRequest, o Origin) (LeaveResponse, error)
	// Group reads a group (404 when unknown), blocking or consistent per
	// q. o is set for a consistent read only (the one read passed on).
	Group(ctx context.Context, group string, q ReadQuery, o Origin) (GroupResponse, error)
	// List reads the list of groups, blocking or consistent per q (o as
	// for Group).
	List(ctx context.Context, q ReadQuery, o Origin) (GroupsResponse, error)
	// Keepalive records a sign of life of a member (404 when not a member).
	Keepalive(ctx context.Context, group, client string, o Origin) (KeepaliveResponse, error)
	// Check checks a member from this peer now (404 when not a member).
	Check(ctx context.Context, group, client string) (CheckResponse, error)
}

// Origin says where a request came from, for a peer that passes it on.
type Origin struct {
	// Forwarded is the id of the peer that forwarded the request (its
	// ForwardedHeader), 0 for a request from a client.
	Forwarded int
	// Header holds the request's end-to-end headers (credentials among
	// them), to send along when the request is forwarded.
	Header http.Header
}

// Route is one endpoint of the groups API.
type Route struct {
	// Pattern is the http.ServeMux pattern, method included.
	Pattern string
	// Handler serves it.
	Handler http.Handler
	// Writes is true for the endpoints that change state or make the peer
	// act (join, leave, keepalive, check): those an access check guards.
	Writes bool
}

// GroupRoutes returns the endpoints of the groups API served by g.
func GroupRoutes(g Groups) []Route {
	h := groupHandlers{g}
	return []Route{
		{"POST /v1/groups/{group}/join", http.HandlerFunc(h.join), true},
		{"POST /v1/groups/{group}/leave", http.HandlerFunc(h.leave), true},
		{"GET /v1/groups/{group}", http.HandlerFunc(h.group), false},
		{"GET /v1/groups", http.HandlerFunc(h.list), false},
		{"PUT /v1/groups/{group}/members/{client}/keepalive", http.HandlerFunc(h.keepalive), true},
		{"POST /v1/groups/{group}/members/{client}/check", http.HandlerFunc(h.check), true},
		{"/v1/", http.HandlerFunc(notFound), false},
	}
}

// MountGroups serves the groups API of g. Call it before Serve.
func (s *Server) MountGroups(g Groups) {
	for _, r := range GroupRoutes(g) {
		s.Handle(r.Pattern, r.Handler)
	}
}

type groupHandlers struct{ g Groups }

// Errorf returns an *HTTPError with code and a formatted one-line message.
func Errorf(code int, format string, a ...any) *HTTPError {
	return &HTTPError{Code: code, Message: fmt.Sprintf(format, a...)}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, Errorf(http.StatusNotFound, "no endpoint %s %s", r.Method, r.URL.Path))
}

// origin reads the Origin of r.
func origin(r *http.Request) Origin {
	o := Origin{Header: http.Header{}}
	o.Forwarded, _ = strconv.Atoi(r.Header.Get(ForwardedHeader))
	for k, vs := range r.Header {
		switch k {
		case "Host", "Content-Length", "Content-Type", "Connection", "Keep-Alive", "Accept-Encoding",
			"Transfer-Encoding", "Te", "Trailer", "Upgrade", "Proxy-Authorization", "User-Agent", ForwardedHeader:
			continue
		}
		o.Header[k] = vs
	}
	return o
}

// jsonType is the Content-Type of every answer.
var jsonType = []string{"application/json"}

// readOrigin is the Origin of a read: only a consistent read is passed on
// (to the leader), so only its Origin is read in full; the others, a
// thousand watchers waking at once among them, skip the copy of headers.
func readOrigin(r *http.Request, q ReadQuery) Origin {
	if q.Consistent {
		return origin(r)
	}
	return Origin{}
}

// pathIDs reads and checks the path's {group} (and {client}, if named).
func pathIDs(w http.ResponseWriter, r *http.Request, withClient bool) (group, client string, ok bool) {
	group = r.PathValue("group")
	if err := ValidateID("group", group); err != nil {
		writeError(w, Errorf(http.StatusBadRequest, "%v", err))
		return "", "", false
	}
	if withClient {
		client = r.PathValue("client")
		if err := ValidateID("client", client); err != nil {
			writeError(w, Errorf(http.StatusBadRequest, "%v", err))
			return "", "", false
		}
	}
	return group, client, true
}

// decodeBody reads a JSON body of at most MaxBody bytes into v.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, Errorf(http.StatusRequestEntityTooLarge, "body is over %d bytes", MaxBody))
		} else {
			writeError(w, Errorf(http.StatusBadRequest, "reading the body: %v", err))
		}
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		writeError(w, Errorf(http.StatusBadRequest, "body is not the JSON object expected: %s", FirstLine(err.Error())))
		return false
	}
	return true
}

func (h groupHandlers) join(w http.ResponseWriter, r *http.Request) {
	group, _, ok := pathIDs(w, r, false)
	if !ok {
		return
	}
	var req JoinRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if err := req.Validate(); err != nil {
		writeError(w, Errorf(http.StatusBadRequest, "%v", err))
		return
	}
	res, err := h.g.Join(r.Context(), group, req, origin(r))
	if err != nil {
		writeError(w, err)
		return
	}
	writeIndexed(w, res.Index, res)
}

func (h groupHandlers) leave(w http.ResponseWriter, r *http.Request) {
	group, _, ok := pathIDs(w, r, false)
	if !ok {
		return
	}
	var req LeaveRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if err := req.Validate(); err != nil {
		writeError(w, Errorf(http.StatusBadRequest, "%v", err))
		return
	}
	res, err := h.g.Leave(r.Context(), group, req, origin(r))
	if err != nil {
		writeError(w, err)
		return
	}
	writeIndexed(w, res.Index, res)
}

func (h groupHandlers) group(w http.ResponseWriter, r *http.Request) {
	group, _, ok := pathIDs(w, r, false)
	if !ok {
		return
	}
	q, err := ParseReadQuery(r.URL.Query())
	if err != nil {
		writeError(w, Errorf(http.StatusBadRequest, "%v", err))
		return
	}
	res, err := h.g.Group(r.Context(), group, q, readOrigin(r, q))
	if err != nil {
		writeError(w, err)
		return
	}
	if res.raw != nil {
		// The group's answer, encoded once for all its readers.
		hd := w.Header()
		hd[IndexHeader] = []string{strconv.FormatUint(res.Index, 10)}
		hd["Content-Type"] = jsonType
		w.Write(res.raw)
		return
	}
	writeIndexed(w, res.Index, res)
}

func (h groupHandlers) list(w http.ResponseWriter, r *http.Request) {
	q, err := ParseReadQuery(r.URL.Query())
	if err != nil {
		writeError(w, Errorf(http.StatusBadRequest, "%v", err))
		return
	}
	res, err := h.g.List(r.Context(), q, readOrigin(r, q))
	if err != nil {
		writeError(w, err)
		return
	}
	writeIndexed(w, res.Index, res)
}

func (h groupHandlers) keepalive(w http.ResponseWriter, r *http.Request) {
	group, client, ok := pathIDs(w, r, true)
	if !ok {
		return
	}
	res, err := h.g.Keepalive(r.Context(), group, client, origin(r))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h groupHandlers) check(w http.ResponseWriter, r *http.Request) {
	group, client, ok := pathIDs(w, r, true)
	if !ok {
		return
	}
	res, err := h.g.Check(r.Context(), group, client)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func writeIndexed(w http.ResponseWriter, index uint64, v any) {
	w.Header().Set(IndexHeader, strconv.FormatUint(index, 10))
	writeJSON(w, http.StatusOK, v)
}

// writeError answers err: an *HTTPError as it says, anything else as 500.
func writeError(w http.ResponseWriter, err error) {
	var he *HTTPError
	if !errors.As(err, &he) {
		he = Errorf(http.StatusInternalServerError, "%s", FirstLine(err.Error()))
	}
	if he.RetryAfter > 0 {
		secs := int((he.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if he.Index > 0 {
		w.Header().Set(IndexHeader, strconv.FormatUint(he.Index, 10))
	}
	msg := he.Message
	if msg == "" {
		msg = http.StatusText(he.Code)
	}
	writeJSON(w, he.Code, ErrorResponse{Error: FirstLine(msg)})
}
