package token

import (
	"fmt"
	"strings"
)

// Scope is a permission a credential carries.
type Scope string

// Scopes, by their wire names.
const (
	ScopeUpload        Scope = "upload"
	ScopePinsRead      Scope = "pins:read"
	ScopePinsWrite     Scope = "pins:write"
	ScopeTokensWrite   Scope = "tokens:write"
	ScopeAnalyticsRead Scope = "analytics:read"
	ScopeMetrics       Scope = "metrics" // read GET /metrics (a Prometheus scraper's key)
	ScopeNames         Scope = "names"   // create, list, publish to and delete the account's IPNS names
	ScopeAdmin         Scope = "admin"   // implies every other scope
)

// AllScopes() lists every scope in a stable order (the order shown in the UI
// and in error messages). It returns a new slice each time, so no caller
// can change another's.
func AllScopes() []Scope {
	return []Scope{ScopeUpload, ScopePinsRead, ScopePinsWrite, ScopeTokensWrite, ScopeAnalyticsRead, ScopeMetrics, ScopeNames, ScopeAdmin}
}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool {
	for _, k := range AllScopes() {
		if s == k {
			return true
		}
	}
	return false
}

// ParseScopes validates wire scope names and returns them deduplicated in
// input order. Names are case-sensitive: "Admin" is not "admin". An unknown
// name is an error wrapping ErrBadRequest; an empty list is returned as
// empty (the caller decides whether that is allowed).
func ParseScopes(names []string) ([]Scope, error) {
	out := make([]Scope, 0, len(names))
	for _, n := range names {
		s := Scope(strings.TrimSpace(n))
		if !s.Valid() {
			return nil, fmt.Errorf("%w: unknown scope %q (known: %v)", ErrBadRequest, n, AllScopes())
		}
		if !hasScope(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func hasScope(list []Scope, s Scope) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// allows reports whether a holder of scopes may act with s: admin implies
// everything.
func allows(scopes []Scope, s Scope) bool {
	for _, x := range scopes {
		if x == s || x == ScopeAdmin {
			return true
		}
	}
	return false
}
