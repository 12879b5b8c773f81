package server

import (
	"net/http"
	"slices"
	"strings"
)

// corsPaths are the endpoints browsers call directly with upload tokens
// (Pinata's signed upload URLs are POST /v3/files and /files). The admin
// API and token minting stay same-origin: they take API keys, which belong
// on servers, not in pages. The gateway (/ipfs/) has CORS of its own, the
// path-gateway spec's (gateway.go): any origin, whatever --cors-origins
// says.
func corsPath(p string) bool {
	switch p {
	case "/upload", "/upload/new", "/upload-tokens/info", "/v3/files", "/files":
		return true
	}
	// /names/{name}: a page publishing with a token bound to the name
	// (publishName); /routing/v1/ipns/: an app reading, or PUTting the
	// records it signed itself.
	return strings.HasPrefix(p, "/pins/") || strings.HasPrefix(p, "/pin/") || tusPath(p) ||
		strings.HasPrefix(p, "/names/") || routingPath(p)
}

func routingPath(p string) bool { return strings.HasPrefix(p, "/routing/v1/ipns/") }

// cors answers preflights and adds CORS headers on the browser-facing
// endpoints for the configured origins. A token's own allowedOrigins are
// enforced separately, by the policy check.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !corsPath(r.URL.Path) || !s.originAllowed(origin) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Allow-Origin", origin)
		methods, allow, expose := "GET, HEAD, POST, OPTIONS", "Authorization, Content-Type, X-Api-Key, Range, Source", // Source: a header the Pinata SDK adds to its uploads
			"Content-Length, Content-Range, ETag, Retry-After, X-Ipfs-Path, X-Ipfs-Roots"
		switch {
		case tusPath(r.URL.Path): // tus clients send and read the protocol's headers (tus.go)
			methods, allow, expose = tusCORSMethods, tusCORSAllow, tusCORSExpose
		case routingPath(r.URL.Path):
			methods, allow, expose = "GET, PUT, OPTIONS", "Accept, Content-Type", "Content-Length, Etag, Expires, Cache-Control"
		}
		h.Set("Access-Control-Expose-Headers", expose)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", allow)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) originAllowed(origin string) bool {
	return slices.Contains(s.cfg.CORSOrigins, "*") || slices.Contains(s.cfg.CORSOrigins, origin)
}
