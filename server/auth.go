package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// reqState travels in a request's context: the grant that authorised it and
// what the handler reports for analytics.
type reqState struct {
	grant  *token.Grant
	socket bool // came through the admin socket
	// uploadClaims are the verified claims of an upload JWT, whose
	// parameters bind the upload strictly.
	uploadClaims *token.UploadClaims
	// refused is a resolved credential whose request was refused by the
	// policy check (expired, wrong IP...): the refusal is still recorded
	// in its analytics.
	refused  *token.Grant
	bytes    int64
	mimeType string
	cid      string
}

type ctxKey struct{}

func state(r *http.Request) *reqState {
	if st, ok := r.Context().Value(ctxKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

// grantOf returns the request's grant; handlers behind wrap always have one.
func grantOf(r *http.Request) token.Grant {
	if g := state(r).grant; g != nil {
		return *g
	}
	return token.Grant{}
}

// statusRecorder remembers the status a handler sent, for analytics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap applies the route's scope: it authenticates the request (unless the
// route is public or authenticates itself), runs the handler and records
// an analytics event for every authenticated request.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.public {
			rt.handler(w, r)
			return
		}
		st := &reqState{}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
		rec := &statusRecorder{ResponseWriter: w}
		if !rt.selfAuth {
			g, err := s.authenticate(r, rt.scopes(), "")
			if err != nil {
				s.writeError(rec, r, err)
				s.recordEvent(r, rt, st, rec.status)
				return
			}
			st.grant = &g
		}
		rt.handler(rec, r)
		s.recordEvent(r, rt, st, rec.status)
	})
}

// wrapSocket serves an admin route on the unix socket with an operator
// grant.
func (s *Server) wrapSocket(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{socket: true, grant: &token.Grant{Kind: token.KindAPIKey, Scopes: []token.Scope{token.ScopeAdmin}}}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
		rt.handler(w, r)
	})
}

func (s *Server) recordEvent(r *http.Request, rt route, st *reqState, status int) {
	g := st.grant
	if g == nil {
		g = st.refused
	}
	if g == nil || st.socket {
		return
	}
	e := store.Event{
		AccountID: g.AccountID,
		KeyID:     g.IssuerKeyID,
		Prefix:    g.Prefix,
		Endpoint:  rt.pattern,
		Status:    status,
		Bytes:     st.bytes,
		MimeType:  st.mimeType,
		CID:       st.cid,
	}
	if g.Kind != token.KindAPIKey {
		e.TokenID = g.CredentialID
	}
	s.store.RecordEvent(e)
}

// authenticate resolves the request's credential (headers first, then
// fallback, e.g. a multipart `token` field) to a Grant and checks it for
// scope, expiry, client address and origin.
// The first of scopes that the grant holds is the one checked, so a route
// can accept a narrower credential for a narrower answer.
func (s *Server) authenticate(r *http.Request, scopes []token.Scope, fallback string) (token.Grant, error) {
	p, err := token.FromHeaders(r.Header.Get("X-Api-Key"), r.Header.Get("Authorization"))
	if err != nil && fallback != "" && r.Header.Get("X-Api-Key") == "" && r.Header.Get("Authorization") == "" {
		p, err = token.FromHeaders("", "Bearer "+fallback)
	}
	if err != nil {
		return token.Grant{}, unauthorized(err)
	}
	var g token.Grant
	if p.Kind == token.KindUploadJWT {
		var claims *token.UploadClaims
		g, claims, err = s.resolveUploadJWT(p.Secret)
		state(r).uploadClaims = claims
	} else {
		g, err = s.resolve(p)
	}
	if err != nil {
		return token.Grant{}, err
	}
	scope := scopes[0]
	for _, sc := range scopes {
		if g.Allows(sc) {
			scope = sc
			break
		}
	}
	err = g.Check(token.Request{
		Now:      s.now(),
		Scope:    scope,
		ClientIP: s.clientIP(r),
		Origin:   r.Header.Get("Origin"),
	})
	if err != nil {
		if g.Kind == token.KindUploadToken {
			s.store.RecordFailure(g.CredentialID, toAPIError(err).Reason)
		}
		state(r).refused = &g
		return token.Grant{}, err
	}
	// An access JWT's maxUses counts requests it was allowed to make, so
	// the use is taken only once every other check has passed.
	if g.Kind == token.KindAccessJWT && g.MaxUses > 0 {
		ok, err := s.store.UseAccessJWT(g.CredentialID)
		if err != nil {
			return token.Grant{}, err
		}
		if !ok {
			state(r).refused = &g
			return token.Grant{}, apiErr(http.StatusForbidden, "TOKEN_EXHAUSTED", "the access JWT has no uses left")
		}
	}
	return g, nil
}

func unauthorized(err error) error {
	return &Error{Status: http.StatusUnauthorized, Reason: "UNAUTHORIZED", Details: detail(err), Cause: err}
}

// resolve looks a presented credential up and turns it into a Grant.
func (s *Server) resolve(p token.Presented) (token.Grant, error) {
	switch p.Kind {
	case token.KindAPIKey:
		h := s.hasher.Sum(p.Secret)
		k, err := s.store.APIKeyByHash(h[:])
		if errors.Is(err, store.ErrNotFound) {
			return token.Grant{}, apiErr(http.StatusUnauthorized, "UNAUTHORIZED", "unknown API key")
		}
		if err != nil {
			return token.Grant{}, err
		}
		if k.Revoked() {
			return token.Grant{}, apiErr(http.StatusUnauthorized, "UNAUTHORIZED", "API key revoked")
		}
		return keyGrant(k)
	case token.KindUploadToken:
		h := s.hasher.Sum(p.Secret)
		t, k, err := s.store.TokenByHash(h[:])
		if errors.Is(err, store.ErrNotFound) {
			return token.Grant{}, apiErr(http.StatusUnauthorized, "UNAUTHORIZED", "unknown upload token")
		}
		if err != nil {
			return token.Grant{}, err
		}
		if !t.RevokedAt.IsZero() {
			s.store.RecordFailure(t.ID, "TOKEN_REVOKED")
			return token.Grant{}, apiErr(http.StatusUnauthorized, "TOKEN_REVOKED", "the upload token was revoked")
		}
		if k.Revoked() {
			s.store.RecordFailure(t.ID, "TOKEN_REVOKED")
			return token.Grant{}, apiErr(http.StatusUnauthorized, "TOKEN_REVOKED", "the API key that issued this token was revoked")
		}
		parent, err := keyGrant(k)
		if err != nil {
			return token.Grant{}, err
		}
		return tokenGrant(parent, t)
	case token.KindAccessJWT:
		return s.resolveAccessJWT(p.Secret)
	}
	return token.Grant{}, apiErr(http.StatusUnauthorized, "UNAUTHORIZED", "unsupported credential")
}

// keyGrant is the Grant of an API key: everything its scopes allow.
func keyGrant(k store.APIKey) (token.Grant, error) {
	scopes, err := token.ParseScopes(k.Scopes)
	if err != nil {
		return token.Grant{}, err
	}
	return token.Grant{
		Kind:         token.KindAPIKey,
		AccountID:    k.AccountID,
		IssuerKeyID:  k.ID,
		CredentialID: k.ID,
		Prefix:       k.Prefix,
		Scopes:       scopes,
	}, nil
}

// tokenGrant narrows the issuing key's grant to a stored upload token.
func tokenGrant(parent token.Grant, t store.Token) (token.Grant, error) {
	ips, err := token.ParseCIDRs(t.IPAllow)
	if err != nil {
		return token.Grant{}, err
	}
	scopes, err := token.ParseScopes(t.Scopes)
	if err != nil {
		return token.Grant{}, err
	}
	g, err := parent.Narrow(token.KindUploadToken, scopes, token.Constraints{
		ExpiresAt:        t.ExpiresAt,
		MaxUploads:       t.MaxUploads,
		MaxFileBytes:     t.MaxFileBytes,
		MaxTotalBytes:    t.MaxTotalBytes,
		AllowedMimeTypes: t.AllowedMimeTypes,
		IPAllow:          ips,
		AllowedOrigins:   t.AllowedOrigins,
		Name:             t.BoundName,
		Metadata:         t.BoundMetadata,
	})
	if err != nil {
		return token.Grant{}, err
	}
	g.CredentialID = t.ID
	g.Prefix = t.Prefix
	return g, nil
}

// clientIP is the address ipWhitelist is checked against: the peer address,
// or, when the peer is a trusted proxy, the nearest untrusted address in
// X-Forwarded-For (read right to left, since a client can prepend anything).
func (s *Server) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	addr = addr.Unmap()
	if !s.trusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr
		}
		hop = hop.Unmap()
		if !s.trusted(hop) {
			return hop
		}
		addr = hop
	}
	return addr
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
