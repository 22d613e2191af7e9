package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// authorizer checks the bearer token of requests. Safe for concurrent use.
type authorizer struct {
	sum   [sha256.Size]byte // of the token
	on    bool
	reads bool
}

func newAuthorizer(o Limits) authorizer {
	return authorizer{sum: sha256.Sum256([]byte(o.Token)), on: o.Token != "", reads: o.TokenReads}
}

// needs reports whether r must carry the token.
func (a authorizer) needs(r *http.Request) bool {
	if !a.on {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return a.reads
	}
	return true
}

// allowed reports whether r carries the token. The comparison takes the
// same time whatever the guess (both sides are hashed to one length first).
func (a authorizer) allowed(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], a.sum[:]) == 1
}

// wrap returns h behind the token check.
func (a authorizer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.needs(r) && !a.allowed(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
			msg := "this request needs the API token: Authorization: Bearer TOKEN (the peer's --api-token)"
			if r.Header.Get("Authorization") != "" {
				msg = "wrong API token"
			}
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
			return
		}
		h.ServeHTTP(w, r)
	})
}
