// Package server is ninja's HTTP front end and nothing else: routes and
// the scope table, authentication middleware, one file per API dialect
// (IPFS.NINJA upload, PSA, Pinata v3 and legacy, admin, gateway, UI) and
// one error mapper (errors.go). Every handler decodes a request, calls one operation of the
// domain (package pinning) and encodes the answer; it returns an error
// instead of writing one, and the wrapper maps it.
package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/ninja-ipfs/ninja/clients"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/token"
	"github.com/ninja-ipfs/ninja/web"
)

// Config configures a Server.
type Config struct {
	// PublicURL is the base of the gateway links returned as uris.url, e.g.
	// "https://ipfs.example.com". Empty means links relative to the request.
	PublicURL string
	// GatewayDomains make the gateway a subdomain gateway on these hosts
	// (--gateway-domains; the node's gateway must be given the same): a
	// host {cid}.ipfs.{domain} is a content origin, served by the gateway
	// only and without the path gateway's CSP sandbox, and uris.url links
	// to {cid}.ipfs.{first domain}/ (subdomain.go). Empty means a path
	// gateway only, sandboxed.
	GatewayDomains []string
	// DNSLinkDomains are hosts served by the gateway alone, as their
	// DNSLink (_dnslink TXT) record says (the node's gateway must be given
	// the same; subdomain.go).
	DNSLinkDomains []string
	// HTTPS says this server serves HTTPS itself (--tls-cert,
	// --acme-domains): subdomain gateway links then use https.
	HTTPS bool
	// TrustedProxies are the networks whose X-Forwarded-For header is
	// believed when working out a client's address for ipWhitelist.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the origins browsers may call the upload API from;
	// "*" (the default when empty) allows any origin, since upload tokens,
	// not cookies, carry the authority.
	CORSOrigins []string
	// Version is reported by the admin status endpoint.
	Version string
	// BodyIdleTimeout fails a request whose body sends nothing for this
	// long, and BodyMinRate one that averages fewer bytes per second over
	// a minute (see body.go); 0 means the defaults (1 min, 1 KiB/s), a
	// negative value none.
	BodyIdleTimeout time.Duration
	BodyMinRate     int64
	// BodyRateWindow is the window BodyMinRate is averaged over; 0 means
	// one minute.
	BodyRateWindow time.Duration
	// AccessLog logs one line per request at info (see accessLog).
	AccessLog bool
	// SpoolDir holds files a form sends before its credential (spool.go);
	// "" means the system's temporary directory. SpoolBytes bounds them
	// per request (0: 64 MiB) and SpoolBudget across requests (0: 1 GiB).
	SpoolDir    string
	SpoolBytes  int64
	SpoolBudget int64
	Logger      *slog.Logger
}

// Observer is told about every request, for metrics.
type Observer interface {
	Request(route string, code int, d time.Duration)
	Refusal(reason string)
}

type noObserver struct{}

func (noObserver) Request(string, int, time.Duration) {}
func (noObserver) Refusal(string)                     {}

// Deps are the parts a Server is built on.
type Deps struct {
	// Service is the domain every handler calls.
	Service *pinning.Service
	// Gateway serves /ipfs/ from local blocks (node.Gateway); nil answers
	// 503.
	Gateway http.Handler
	// Routing serves the delegated routing API's /routing/v1/ipns/
	// (node.RoutingHandler); nil answers 503.
	Routing http.Handler
	// Metrics serves GET /metrics (scope metrics) when set.
	Metrics http.Handler
	// Observer receives request metrics; nil means none.
	Observer Observer
	// Backup makes backups for POST /admin/backup (the wiring, app.App);
	// nil answers 503.
	Backup Backupper
}

// Server serves ninja's HTTP API. Create it with New; Handler returns the
// public HTTP handler and AdminHandler the one for the unix socket.
type Server struct {
	cfg     Config
	svc     *pinning.Service
	gateway http.Handler
	routing http.Handler
	metrics http.Handler
	obs     Observer
	backup  Backupper
	log     *slog.Logger

	jsonSlots    *fairSlots // see jsonUploadSlots
	spoolBudget  *spoolBudget
	gatewaySlots *addrSlots   // see gatewayPerAddress
	tus          http.Handler // tusd's handler (tus.go); nil if it failed to build

	mux      *http.ServeMux
	adminMux *http.ServeMux
	routes   []route
}

// New returns a Server over deps.
func New(cfg Config, deps Deps) *Server {
	if len(cfg.CORSOrigins) == 0 {
		cfg.CORSOrigins = []string{"*"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	cfg.GatewayDomains = normalizeDomains(cfg.GatewayDomains)
	cfg.DNSLinkDomains = normalizeDomains(cfg.DNSLinkDomains)
	if cfg.BodyIdleTimeout == 0 {
		cfg.BodyIdleTimeout = defaultBodyIdleTimeout
	}
	if cfg.BodyMinRate == 0 {
		cfg.BodyMinRate = defaultBodyMinRate
	}
	if cfg.BodyRateWindow <= 0 {
		cfg.BodyRateWindow = defaultBodyRateWindow
	}
	if cfg.SpoolBytes <= 0 {
		cfg.SpoolBytes = defaultSpoolBytes
	}
	if cfg.SpoolBudget <= 0 {
		cfg.SpoolBudget = defaultSpoolBudget
	}
	s := &Server{
		cfg:          cfg,
		svc:          deps.Service,
		gateway:      deps.Gateway,
		routing:      deps.Routing,
		metrics:      deps.Metrics,
		obs:          deps.Observer,
		backup:       deps.Backup,
		log:          cfg.Logger,
		jsonSlots:    newFairSlots(jsonUploadSlots, jsonUploadSlotsPerAccount),
		gatewaySlots: newAddrSlots(gatewayPerAddress),
		spoolBudget:  &spoolBudget{max: cfg.SpoolBudget},
	}
	if s.obs == nil {
		s.obs = noObserver{}
	}
	if s.svc != nil {
		var err error
		if s.tus, err = s.newTus(); err != nil {
			s.log.Error("resumable uploads disabled", "err", err)
		}
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
// With gateway domains, requests for a content host never reach the
// API's routes (contentOrigins).
func (s *Server) Handler() http.Handler { return s.contentOrigins(s.cors(s.unrouted(s.mux))) }

// AdminHandler returns the handler for the admin unix socket. Whoever can
// open the socket (mode 0600, owner only) is the operator: requests carry
// no credential and act with scope admin on the account named by the
// "account" query parameter (default: the first account).
func (s *Server) AdminHandler() http.Handler { return s.unrouted(s.adminMux) }

// handler is what every route runs: it writes a success itself and returns
// an error for the wrapper to map (errors.go) and write.
type handler func(w http.ResponseWriter, r *http.Request) error

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
	// upload routes are uploads: their failures count against the
	// upload token that made them.
	upload bool
	// admin routes are also served on the admin socket.
	admin bool
	h     handler
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
	ui := newUI(web.FS(), clients.JS(), s.log)
	ui.csp = uiCSPFor(s.cfg.GatewayDomains)
	routes := []route{
		{pattern: "GET /healthz", public: true, h: s.handleHealth},
		{pattern: "GET /readyz", public: true, admin: true, h: s.handleReady},
		{pattern: "GET /metrics", scope: token.ScopeMetrics, admin: true, h: s.handleMetrics},
		// The web UI (ui.go): the dashboard signs in with an API key held in
		// the browser, the upload page with a signed token; both only call
		// the API below. GET /upload is the page, POST /upload the API.
		{pattern: "GET /{$}", public: true, h: ui.page("index.html")},
		{pattern: "GET /upload", public: true, h: ui.page("upload.html")},
		{pattern: "GET /ui/", public: true, h: ui.asset},
		// The browser client library (clients/js) at a stable path, and what
		// the dashboard asks at sign-in: which of its views the credential
		// may use (whoami.go).
		{pattern: "GET /js/", public: true, h: ui.library},
		{pattern: "GET /auth/whoami", scope: token.ScopePinsRead, orScope: token.ScopeUpload, h: s.handleWhoAmI},
		{pattern: "GET /ipfs/", public: true, h: s.handleGateway},
		{pattern: "HEAD /ipfs/", public: true, h: s.handleGateway},
		{pattern: "OPTIONS /ipfs/", public: true, h: s.handleGatewayOptions},
		{pattern: "GET /ipns/", public: true, h: s.handleGateway},
		{pattern: "HEAD /ipns/", public: true, h: s.handleGateway},
		{pattern: "OPTIONS /ipns/", public: true, h: s.handleGatewayOptions},
		// The delegated routing API for the names held here (routing.go):
		// anyone may read a record; a PUT is checked by its signature and
		// kept only for a name an account registered.
		{pattern: "GET /routing/v1/ipns/{name}", public: true, h: s.handleRouting},
		{pattern: "PUT /routing/v1/ipns/{name}", public: true, h: s.handleRouting},

		// IPFS.NINJA's upload API (upload.go, multipart.go, pins.go).
		{pattern: "POST /upload/new", scope: token.ScopeUpload, upload: true, h: s.handleUploadNew},
		{pattern: "POST /upload", scope: token.ScopeUpload, selfAuth: true, upload: true, h: s.handleUpload},
		{pattern: "GET /upload/list", scope: token.ScopePinsRead, h: s.handleUploadList},
		{pattern: "GET /uploads/{id}", scope: token.ScopePinsRead, h: s.handleUploadGet},
		{pattern: "PATCH /uploads/{id}", scope: token.ScopePinsWrite, h: s.handleUploadUpdate},
		{pattern: "GET /pins/{cid}", scope: token.ScopePinsRead, orScope: token.ScopeUpload, h: s.handlePinStatus},
		{pattern: "GET /pin/{cid}", scope: token.ScopePinsRead, orScope: token.ScopeUpload, h: s.handlePinStatus},
		{pattern: "DELETE /pins/{cid}", scope: token.ScopePinsWrite, h: s.handleUnpin},
		{pattern: "POST /pin", scope: token.ScopePinsWrite, h: s.handlePinByCID},

		// Resumable uploads, tus 1.0 (tus.go). OPTIONS is the protocol's
		// discovery; the others need upload, and past the creation only the
		// credential that created the upload may touch it. The request that
		// pins the upload (a PATCH, or a POST with the whole body) is the
		// upload in analytics; the rest are "(partial)".
		{pattern: "OPTIONS /tus", public: true, h: s.handleTus},
		{pattern: "OPTIONS /tus/", public: true, h: s.handleTus},
		{pattern: "POST /tus", scope: token.ScopeUpload, upload: true, h: s.handleTus},
		{pattern: "POST /tus/{$}", scope: token.ScopeUpload, upload: true, h: s.handleTus},
		{pattern: "HEAD /tus/{id}", scope: token.ScopeUpload, selfAuth: true, h: s.handleTus},
		{pattern: "PATCH /tus/{id}", scope: token.ScopeUpload, selfAuth: true, upload: true, h: s.handleTus},
		{pattern: "DELETE /tus/{id}", scope: token.ScopeUpload, selfAuth: true, h: s.handleTus},

		// Credentials (tokens.go).
		{pattern: "POST /upload/signed-url", scope: token.ScopeTokensWrite, admin: true, h: s.handleTokenCreate},
		{pattern: "POST /upload-tokens", scope: token.ScopeTokensWrite, admin: true, h: s.handleTokenCreate},
		{pattern: "GET /signed-tokens", scope: token.ScopeTokensWrite, admin: true, h: s.handleTokenList},
		{pattern: "DELETE /signed-tokens/{tokenId}", scope: token.ScopeTokensWrite, admin: true, h: s.handleTokenRevoke},
		{pattern: "GET /upload-tokens/info", scope: token.ScopeUpload, h: s.handleTokenInfo},
		{pattern: "POST /upload-signing-keys", scope: token.ScopeTokensWrite, admin: true, h: s.handleSigningKeyCreate},
		{pattern: "GET /upload-signing-keys", scope: token.ScopeTokensWrite, admin: true, h: s.handleSigningKeyList},
		{pattern: "DELETE /upload-signing-keys/{kid}", scope: token.ScopeTokensWrite, admin: true, h: s.handleSigningKeyRevoke},
		{pattern: "POST /auth/jwt", scope: token.ScopeTokensWrite, admin: true, h: s.handleAccessJWTCreate},
		{pattern: "GET /auth/jwt", scope: token.ScopeTokensWrite, admin: true, h: s.handleAccessJWTList},
		{pattern: "DELETE /auth/jwt/{jti}", scope: token.ScopeTokensWrite, admin: true, h: s.handleAccessJWTRevoke},
		{pattern: "GET /.well-known/jwks.json", public: true, h: s.handleJWKS},
		{pattern: "GET /analytics", scope: token.ScopeAnalyticsRead, admin: true, h: s.handleAnalytics},

		// IPNS names (names.go). Publishing also takes a credential bound to
		// the one name (publishName), which needs no scope names.
		{pattern: "POST /names", scope: token.ScopeNames, admin: true, h: s.handleNameCreate},
		{pattern: "GET /names", scope: token.ScopeNames, admin: true, h: s.handleNameList},
		{pattern: "GET /names/{name}", scope: token.ScopeNames, admin: true, h: s.handleNameGet},
		{pattern: "DELETE /names/{name}", scope: token.ScopeNames, admin: true, h: s.handleNameDelete},
		{pattern: "POST /names/{name}", scope: token.ScopeNames, orScope: token.ScopeUpload, admin: true, h: s.handleNamePublish},

		// The Pinning Service API (psa.go).
		{pattern: "GET /psa/pins", scope: token.ScopePinsRead, h: s.handlePSAList},
		{pattern: "POST /psa/pins", scope: token.ScopePinsWrite, h: s.handlePSAAdd},
		{pattern: "GET /psa/pins/{requestid}", scope: token.ScopePinsRead, h: s.handlePSAGet},
		{pattern: "POST /psa/pins/{requestid}", scope: token.ScopePinsWrite, h: s.handlePSAReplace},
		{pattern: "DELETE /psa/pins/{requestid}", scope: token.ScopePinsWrite, h: s.handlePSADelete},

		// The operator's API (admin.go).
		{pattern: "POST /admin/gc", scope: token.ScopeAdmin, admin: true, h: s.handleGC},
		{pattern: "GET /admin/export/{cid}", scope: token.ScopeAdmin, admin: true, h: s.handleExport},
		{pattern: "POST /admin/backup", scope: token.ScopeAdmin, admin: true, h: s.handleBackup},
		{pattern: "GET /admin/status", scope: token.ScopeAdmin, admin: true, h: s.handleStatus},
		{pattern: "GET /admin/accounts", scope: token.ScopeAdmin, admin: true, h: s.handleAccountList},
		{pattern: "POST /admin/accounts", scope: token.ScopeAdmin, admin: true, h: s.handleAccountCreate},
		{pattern: "GET /admin/accounts/{account}/quota", scope: token.ScopeAdmin, admin: true, h: s.handleQuotaGet},
		{pattern: "PUT /admin/accounts/{account}/quota", scope: token.ScopeAdmin, admin: true, h: s.handleQuotaSet},
		{pattern: "GET /admin/keys", scope: token.ScopeAdmin, admin: true, h: s.handleKeyList},
		{pattern: "POST /admin/keys", scope: token.ScopeAdmin, admin: true, h: s.handleKeyCreate},
		{pattern: "DELETE /admin/keys/{id}", scope: token.ScopeAdmin, admin: true, h: s.handleKeyRevoke},

		// Pinata v3 (pinata_v3.go, pinata_queue.go, pinata_groups.go,
		// pinata_keys.go); each is served without /v3 too (withoutV3Prefix).
		{pattern: "POST /v3/files", scope: token.ScopeUpload, selfAuth: true, upload: true, h: s.handlePinataUpload},
		{pattern: "POST /v3/files/sign", scope: token.ScopeTokensWrite, h: s.handlePinataSign},
		{pattern: "GET /v3/files/{network}", scope: token.ScopePinsRead, h: s.handlePinataList},
		{pattern: "GET /v3/files/{network}/{id}", scope: token.ScopePinsRead, h: s.handlePinataGet},
		{pattern: "PUT /v3/files/{network}/{id}", scope: token.ScopePinsWrite, h: s.handlePinataUpdate},
		{pattern: "DELETE /v3/files/{network}/{id}", scope: token.ScopePinsWrite, h: s.handlePinataDelete},
		{pattern: "POST /v3/files/private/download_link", scope: token.ScopePinsRead, h: s.handlePinataPrivate},
		{pattern: "POST /v3/files/public/pin_by_cid", scope: token.ScopePinsWrite, h: s.handlePinataPinByCID},
		{pattern: "GET /v3/files/public/pin_by_cid", scope: token.ScopePinsRead, h: s.handlePinataQueue},
		{pattern: "DELETE /v3/files/public/pin_by_cid/{id}", scope: token.ScopePinsWrite, h: s.handlePinataCancel},
		{pattern: "GET /v3/data/testAuthentication", scope: token.ScopePinsRead, orScope: token.ScopeUpload, h: s.handlePinataTestAuth},
		{pattern: "GET /v3/data/userPinnedDataTotal", scope: token.ScopePinsRead, h: s.handlePinataUsage},
		{pattern: "POST /v3/groups/{network}", scope: token.ScopePinsWrite, h: s.handleGroupCreate},
		{pattern: "GET /v3/groups/{network}", scope: token.ScopePinsRead, h: s.handleGroupList},
		{pattern: "GET /v3/groups/{network}/{id}", scope: token.ScopePinsRead, h: s.handleGroupGet},
		{pattern: "PUT /v3/groups/{network}/{id}", scope: token.ScopePinsWrite, h: s.handleGroupUpdate},
		{pattern: "DELETE /v3/groups/{network}/{id}", scope: token.ScopePinsWrite, h: s.handleGroupDelete},
		{pattern: "PUT /v3/groups/{network}/{id}/ids/{file}", scope: token.ScopePinsWrite, h: s.handleGroupAddFile},
		{pattern: "DELETE /v3/groups/{network}/{id}/ids/{file}", scope: token.ScopePinsWrite, h: s.handleGroupRemoveFile},
		{pattern: "POST /v3/pinata/keys", scope: token.ScopeTokensWrite, h: s.handlePinataKeyCreate},
		{pattern: "GET /v3/pinata/keys", scope: token.ScopeTokensWrite, h: s.handlePinataKeyList},
		{pattern: "PUT /v3/pinata/keys/{key}", scope: token.ScopeTokensWrite, h: s.handlePinataKeyRevoke},

		// Pinata legacy (pinata_legacy.go, pinata_legacy_list.go); its
		// /data/testAuthentication and /data/userPinnedDataTotal are the v3
		// routes without their prefix.
		{pattern: "POST /pinning/pinFileToIPFS", scope: token.ScopeUpload, selfAuth: true, upload: true, h: s.handleLegacyPinFile},
		{pattern: "POST /pinning/pinJSONToIPFS", scope: token.ScopeUpload, upload: true, h: s.handleLegacyPinJSON},
		{pattern: "POST /pinning/pinByHash", scope: token.ScopePinsWrite, h: s.handleLegacyPinByHash},
		{pattern: "DELETE /pinning/unpin/{cid}", scope: token.ScopePinsWrite, h: s.handleLegacyUnpin},
		{pattern: "PUT /pinning/hashMetadata", scope: token.ScopePinsWrite, h: s.handleLegacyHashMetadata},
		{pattern: "GET /pinning/pinJobs", scope: token.ScopePinsRead, h: s.handleLegacyPinJobs},
		{pattern: "GET /data/pinList", scope: token.ScopePinsRead, h: s.handleLegacyPinList},
	}
	return append(routes, withoutV3Prefix(routes)...)
}

// handleMetrics serves the Prometheus metrics to a credential with scope
// metrics (or admin), and on the admin socket; `--metrics ADDR` serves
// them on a listener of their own instead.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	if s.metrics == nil {
		return fmt.Errorf("%w: metrics are not enabled", pinning.ErrUnavailable)
	}
	s.metrics.ServeHTTP(w, r)
	return nil
}

// handleHealth is liveness: the process answers HTTP. It says nothing of
// the parts behind it; /readyz does.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// handleReady is readiness: 200 only while the service can take writes
// (database, block store, node, pin worker; see pinning.Service.Ready),
// else 503 NOT_READY naming the parts that are not. It is public, for load
// balancers and health checks, and on the admin socket for `ninja ready`.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Ready(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}
