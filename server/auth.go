package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/token"
)

// reqState travels in a request's context: who made it and what the
// handler reports for analytics.
type reqState struct {
	principal pinning.Principal // resolved, even when refused
	authed    bool              // principal passed every check
	refused   bool              // the credential check refused the request
	socket    bool              // came through the admin socket
	account   string            // the account the request acts on (see bindAccount)
	reason    string            // the error reason sent, if any
	// partial marks a request that moved a resumable upload along without
	// ending it (tus.go): analytics record it under a "(partial)" endpoint,
	// as a request, not as an upload or a failed one.
	partial  bool
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

// principal returns the request's authenticated caller; handlers behind
// wrap always have one.
func principal(r *http.Request) pinning.Principal { return state(r).principal }

// actor is the caller acting on the request's account: the principal with
// the ?account= target as its account (the operator's choice; see
// bindAccount). Records a request creates or reads belong to it.
func actor(r *http.Request) pinning.Principal {
	st := state(r)
	p := st.principal
	if st.account != "" {
		p.AccountID = st.account
	}
	return p
}

// statusRecorder remembers the status a handler sent and the bytes of its
// body.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
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
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ReadFrom keeps the underlying writer's fast path (sendfile, large
// copies) for gateway bodies.
func (w *statusRecorder) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

// Flush passes a flush through to the connection.
func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// writerOnly hides a writer's ReadFrom, so io.Copy cannot loop back.
type writerOnly struct{ io.Writer }

// wrap runs one route: it authenticates the request (unless the route is
// public or authenticates itself), runs the handler, maps the error it
// returns, and records an analytics event for every request whose
// credential resolved.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
		rec := &statusRecorder{ResponseWriter: w}
		start := time.Now()
		defer func() {
			d := time.Since(start)
			s.obs.Request(rt.pattern, rec.status, d)
			s.accessLog(r, rt.pattern, rec, d)
		}()
		defer s.recoverPanic(rec, r)
		s.paceBody(w, r)
		var err error
		if !rt.public && !rt.selfAuth {
			if err = s.authenticate(r, rt.scopes(), ""); err == nil {
				err = s.bindAccount(r)
			}
		}
		if err == nil {
			err = rt.h(rec, r)
		}
		if err != nil {
			s.writeError(rec, r, err)
		}
		if !rt.public {
			endpoint, upload := rt.pattern, rt.upload
			if st.partial {
				endpoint, upload = partialEndpoint(rt.pattern), false
			}
			s.svc.RecordRequest(pinning.RequestRecord{
				Principal: st.principal, Endpoint: endpoint, Status: rec.status,
				Upload: upload, Refused: st.refused, Reason: st.reason,
				Bytes: st.bytes, MimeType: st.mimeType, CID: st.cid,
			})
		}
	})
}

// accessLog writes one line per request: what was asked, by whom (the
// credential's kind and display prefix, never the credential) and from
// where (the client address as ninja decided it), and how it went.
func (s *Server) accessLog(r *http.Request, route string, w *statusRecorder, d time.Duration) {
	if !s.cfg.AccessLog {
		return
	}
	st := state(r)
	p := st.principal
	client := ""
	if ip := s.clientIP(r); ip.IsValid() {
		client = ip.String()
	}
	s.log.Info("request", "method", r.Method, "route", route, "path", r.URL.Path, "status", w.status,
		"bytes", w.bytes, "duration_ms", float64(d.Microseconds())/1000, "credential", p.Kind.Label(),
		"prefix", p.Prefix, "client", client, "reason", st.reason)
}

// wrapSocket serves an admin route on the unix socket with the operator's
// principal.
func (s *Server) wrapSocket(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{socket: true, authed: true, principal: pinning.Operator()}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
		rec := &statusRecorder{ResponseWriter: w}
		defer s.recoverPanic(rec, r)
		err := s.bindAccount(r)
		if err == nil {
			err = rt.h(rec, r)
		}
		if err != nil {
			s.writeError(rec, r, err)
		}
	})
}

// recoverPanic turns a handler panic into a logged error with its stack
// and, when nothing was sent yet, a 500 in the error shape (net/http would
// otherwise cut the connection and log nothing at the default level).
func (s *Server) recoverPanic(w *statusRecorder, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if w.status == 0 {
		s.writeError(w, r, fmt.Errorf("handler panic: %v", v))
	}
}

// unrouted answers requests no route takes (unknown path, wrong method)
// in the API's error shape instead of the mux's plain text, keeping its
// status and Allow header.
func (s *Server) unrouted(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		switch rec.Code {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.Header().Get("Allow"))
			s.writeError(w, r, fmt.Errorf("%w: %s is not allowed on %s", errMethodNotAllowed, r.Method, r.URL.Path))
		case http.StatusNotFound:
			s.writeError(w, r, fmt.Errorf("%w: no endpoint at %s", errNoRoute, r.URL.Path))
		default: // a redirect (a missing trailing slash) or the like
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		}
	})
}

// authenticate resolves and checks the request's credential through the
// domain (headers first, then bodyToken, a multipart `token` field) and
// keeps the principal in the request state.
func (s *Server) authenticate(r *http.Request, scopes []token.Scope, bodyToken string) error {
	return s.authenticateAs(r, pinning.AuthRequest{Scopes: scopes, BodyToken: bodyToken})
}

// authenticateAs is authenticate of req (scopes, a body token, the
// resumable upload continued), with the credential, client address and
// origin taken from r.
func (s *Server) authenticateAs(r *http.Request, req pinning.AuthRequest) error {
	st := state(r)
	req.APIKeyHeader = r.Header.Get("X-Api-Key")
	req.Authorization = r.Header.Get("Authorization")
	req.ClientIP = s.clientIP(r)
	req.Origin = r.Header.Get("Origin")
	// Pinata's legacy pair (pinata_legacy.go); Go keeps the underscores.
	req.PinataAPIKey = r.Header.Get(pinataKeyHeader)
	req.PinataSecretAPIKey = r.Header.Get(pinataSecretHeader)
	p, err := s.svc.Authenticate(r.Context(), req)
	st.principal = p
	if err != nil {
		st.refused = p.AccountID != ""
		return err
	}
	st.authed = true
	return nil
}

// clientIP is the address ipWhitelist is checked against: the peer address,
// or, when the peer is a trusted proxy, the nearest untrusted address in
// X-Forwarded-For (read right to left, since a client can prepend anything).
// A hop that does not parse makes the address unknown (the zero Addr,
// which an IP whitelist refuses), never the proxy's own.
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
		h := strings.TrimSpace(hops[i])
		if h == "" && len(hops) == 1 {
			return addr // no X-Forwarded-For: the proxy itself is the client
		}
		hop, err := netip.ParseAddr(h)
		if err != nil {
			return netip.Addr{}
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

// bindAccount resolves the account an authenticated request acts on, once
// for every route: the caller's own, or the one ?account= names (id or
// name), which only the operator (the socket, or a credential with scope
// admin) may do; anyone else naming another account gets 403. The
// operator naming none acts on the first account.
func (s *Server) bindAccount(r *http.Request) error {
	st := state(r)
	a, err := s.svc.Account(r.Context(), st.principal, r.URL.Query().Get("account"))
	if err != nil {
		return err
	}
	st.account = a.ID
	return nil
}

// account is the account the request acts on (see bindAccount).
func (s *Server) account(r *http.Request) (string, error) {
	if a := state(r).account; a != "" {
		return a, nil
	}
	return "", fmt.Errorf("%w: the request names no account", pinning.ErrNotFound)
}

// ownAccount is the account a revocation is limited to: the caller's, or
// any ("") for the operator.
func ownAccount(r *http.Request) string {
	if p := principal(r); !p.Operator {
		return p.AccountID
	}
	return ""
}

// isCanceled reports a request that ended because its client left or the
// server is shutting down: not a server fault.
func isCanceled(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
