// Package server is ninja's HTTP front end: the IPFS.NINJA-compatible API,
// streaming uploads, the gateway, the admin API and CORS. It consumes the
// node, the store and the token policy engine through the small interfaces
// declared in deps.go.
package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"time"

	"github.com/ninja-ipfs/ninja/token"
	"github.com/ninja-ipfs/ninja/web"
)

// Config configures a Server.
type Config struct {
	// PublicURL is the base of the gateway links returned as uris.url, e.g.
	// "https://ipfs.example.com". Empty means links relative to the request.
	PublicURL string
	// MaxUploadBytes caps one upload's body; 0 means 32 GiB.
	MaxUploadBytes int64
	// TrustedProxies are the networks whose X-Forwarded-For header is
	// believed when working out a client's address for ipWhitelist.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the origins browsers may call the upload API from;
	// "*" (the default when empty) allows any origin, since upload tokens,
	// not cookies, carry the authority.
	CORSOrigins []string
	// Version is reported by the admin status endpoint.
	Version string
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Server serves ninja's HTTP API. Create it with New; Handler returns the
// public HTTP handler and AdminHandler the one for the unix socket.
type Server struct {
	cfg    Config
	store  Store
	node   Node
	hasher *token.Hasher
	signer *token.Signer
	pinner *Pinner
	log    *slog.Logger
	now    func() time.Time

	jsonSlots chan struct{} // see jsonUploadSlots

	mux      *http.ServeMux
	adminMux *http.ServeMux
	routes   []route
}

// New returns a Server over deps.
func New(cfg Config, deps Deps) *Server {
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = 32 << 30
	}
	if len(cfg.CORSOrigins) == 0 {
		cfg.CORSOrigins = []string{"*"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Server{
		cfg:    cfg,
		store:  deps.Store,
		node:   deps.Node,
		hasher: deps.Hasher,
		signer: deps.Signer,
		pinner: deps.Pinner,
		log:    cfg.Logger,
		now:    cfg.Now,

		jsonSlots: make(chan struct{}, jsonUploadSlots),
	}
	s.routes = s.routeTable()
	s.mux = http.NewServeMux()
	s.adminMux = http.NewServeMux()
	for _, rt := range s.routes {
		s.mux.Handle(rt.pattern, s.wrap(rt))
		if rt.admin {
			s.adminMux.Handle(rt.pattern, s.wrapSocket(rt))
		}
	}
	return s
}

// Handler returns the public HTTP handler.
func (s *Server) Handler() http.Handler { return s.cors(s.apiErrors(s.mux)) }

// apiErrors answers requests no route takes (unknown path, wrong method)
// in the API's error shape instead of the mux's plain text, keeping its
// status and Allow header.
func (s *Server) apiErrors(mux *http.ServeMux) http.Handler {
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
			s.writeError(w, r, apiErr(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "%s is not allowed on %s", r.Method, r.URL.Path))
		case http.StatusNotFound:
			s.writeError(w, r, apiErr(http.StatusNotFound, "NOT_FOUND", "no endpoint at %s", r.URL.Path))
		default: // a redirect (a missing trailing slash) or the like
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		}
	})
}

// AdminHandler returns the handler for the admin unix socket. Whoever can
// open the socket (mode 0600, owner only) is the operator: requests carry
// no credential and act with scope admin on the account named by the
// "account" query parameter (default: the first account).
func (s *Server) AdminHandler() http.Handler { return s.adminMux }

// route is one entry of the scope table. Every route names the scope it
// needs; a route that is public says so explicitly.
type route struct {
	pattern string
	scope   token.Scope
	// orScope, when set, is accepted in place of scope; the handler then
	// narrows its answer (an upload token reads only its own pins).
	orScope token.Scope
	public  bool
	// selfAuth routes authenticate inside the handler, because the
	// credential may arrive in the body (multipart field `token`).
	selfAuth bool
	// admin routes are also served on the admin socket.
	admin   bool
	handler func(w http.ResponseWriter, r *http.Request)
}

// RouteInfo describes one entry of the scope table.
type RouteInfo struct {
	Pattern string
	Scope   token.Scope
	OrScope token.Scope
	Public  bool
}

// Routes lists the scope table: every endpoint and the scope it needs.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, len(s.routes))
	for i, rt := range s.routes {
		out[i] = RouteInfo{Pattern: rt.pattern, Scope: rt.scope, OrScope: rt.orScope, Public: rt.public}
	}
	return out
}

func (rt route) scopes() []token.Scope {
	if rt.orScope != "" {
		return []token.Scope{rt.scope, rt.orScope}
	}
	return []token.Scope{rt.scope}
}

// routeTable is the one place that says which scope every endpoint needs.
func (s *Server) routeTable() []route {
	ui := newUI(web.FS(), s.log)
	return []route{
		{pattern: "GET /healthz", public: true, handler: s.handleHealth},
		// The web UI (ui.go): the dashboard signs in with an API key held in
		// the browser, the upload page with a signed token; both only call
		// the API below. GET /upload is the page, POST /upload the API.
		{pattern: "GET /{$}", public: true, handler: ui.page("index.html")},
		{pattern: "GET /upload", public: true, handler: ui.page("upload.html")},
		{pattern: "GET /ui/", public: true, handler: ui.asset},
		{pattern: "GET /ipfs/", public: true, handler: s.handleGateway},
		{pattern: "HEAD /ipfs/", public: true, handler: s.handleGateway},

		{pattern: "POST /upload/new", scope: token.ScopeUpload, handler: s.handleUploadNew},
		{pattern: "POST /upload", scope: token.ScopeUpload, selfAuth: true, handler: s.handleUpload},
		{pattern: "GET /upload/list", scope: token.ScopePinsRead, handler: s.handleUploadList},
		{pattern: "GET /pins/{cid}", scope: token.ScopePinsRead, orScope: token.ScopeUpload, handler: s.handlePinStatus},
		{pattern: "GET /pin/{cid}", scope: token.ScopePinsRead, orScope: token.ScopeUpload, handler: s.handlePinStatus},

		{pattern: "DELETE /pins/{cid}", scope: token.ScopePinsWrite, handler: s.handleUnpin},

		{pattern: "POST /upload/signed-url", scope: token.ScopeTokensWrite, admin: true, handler: s.handleTokenCreate},
		{pattern: "POST /upload-tokens", scope: token.ScopeTokensWrite, admin: true, handler: s.handleTokenCreate},
		{pattern: "GET /signed-tokens", scope: token.ScopeTokensWrite, admin: true, handler: s.handleTokenList},
		{pattern: "DELETE /signed-tokens/{tokenId}", scope: token.ScopeTokensWrite, admin: true, handler: s.handleTokenRevoke},
		{pattern: "GET /upload-tokens/info", scope: token.ScopeUpload, handler: s.handleTokenInfo},
		{pattern: "POST /upload-signing-keys", scope: token.ScopeTokensWrite, admin: true, handler: s.handleSigningKeyCreate},
		{pattern: "GET /upload-signing-keys", scope: token.ScopeTokensWrite, admin: true, handler: s.handleSigningKeyList},
		{pattern: "DELETE /upload-signing-keys/{kid}", scope: token.ScopeTokensWrite, admin: true, handler: s.handleSigningKeyRevoke},
		{pattern: "POST /auth/jwt", scope: token.ScopeTokensWrite, admin: true, handler: s.handleAccessJWTCreate},
		{pattern: "GET /auth/jwt", scope: token.ScopeTokensWrite, admin: true, handler: s.handleAccessJWTList},
		{pattern: "DELETE /auth/jwt/{jti}", scope: token.ScopeTokensWrite, admin: true, handler: s.handleAccessJWTRevoke},
		{pattern: "GET /.well-known/jwks.json", public: true, handler: s.handleJWKS},
		{pattern: "GET /analytics", scope: token.ScopeAnalyticsRead, admin: true, handler: s.handleAnalytics},

		// Pin by CID: IPFS.NINJA's form and the Pinning Service API (psa.go).
		{pattern: "POST /pin", scope: token.ScopePinsWrite, handler: s.handlePinByCID},
		{pattern: "GET /psa/pins", scope: token.ScopePinsRead, handler: s.handlePSAList},
		{pattern: "POST /psa/pins", scope: token.ScopePinsWrite, handler: s.handlePSAAdd},
		{pattern: "GET /psa/pins/{requestid}", scope: token.ScopePinsRead, handler: s.handlePSAGet},
		{pattern: "POST /psa/pins/{requestid}", scope: token.ScopePinsWrite, handler: s.handlePSAReplace},
		{pattern: "DELETE /psa/pins/{requestid}", scope: token.ScopePinsWrite, handler: s.handlePSADelete},

		{pattern: "POST /admin/gc", scope: token.ScopeAdmin, admin: true, handler: s.handleGC},
		{pattern: "GET /admin/export/{cid}", scope: token.ScopeAdmin, admin: true, handler: s.handleExport},
		{pattern: "GET /admin/status", scope: token.ScopeAdmin, admin: true, handler: s.handleStatus},
		{pattern: "GET /admin/accounts", scope: token.ScopeAdmin, admin: true, handler: s.handleAccountList},
		{pattern: "POST /admin/accounts", scope: token.ScopeAdmin, admin: true, handler: s.handleAccountCreate},
		{pattern: "GET /admin/keys", scope: token.ScopeAdmin, admin: true, handler: s.handleKeyList},
		{pattern: "POST /admin/keys", scope: token.ScopeAdmin, admin: true, handler: s.handleKeyCreate},
		{pattern: "DELETE /admin/keys/{id}", scope: token.ScopeAdmin, admin: true, handler: s.handleKeyRevoke},
	}
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
