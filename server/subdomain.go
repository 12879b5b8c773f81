package server

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/pinning"
)

// The subdomain gateway (--gateway-domains). The node's gateway handler
// does the work, with boxo's hostname handling: it maps
// {cid}.ipfs.{domain}/path to /ipfs/{cid}/path and redirects
// {domain}/ipfs/{cid} to the subdomain. What the server adds is the
// isolation: a content host reaches the gateway and nothing else, so a
// site's scripts run in their CID's own origin, never the dashboard's or
// the API's, and cannot call the API there either.

// subdomainNamespaces are the labels boxo reads as the namespace of a
// subdomain host ({id}.{ns}.{domain}). Every one of them is a content
// host here, even those boxo then answers 404 (ipns: a name not held
// here; p2p, ipld: Kubo's legacy), so that none of them serves the API.
// A configured DNSLink domain is a content host too (its site's origin).
var subdomainNamespaces = []string{"ipfs", "ipns", "p2p", "ipld"}

// contentHost reports whether host (a Host header, maybe with a port) is
// a subdomain gateway's content host: {id}.{ns}.{domain} for a configured
// domain. It matches as boxo's hostname handler does: a domain given with
// a port matches that port only, one without matches any.
func (s *Server) contentHost(host string) bool {
	host = strings.ToLower(host)
	bare := stripPort(host)
	for _, d := range s.cfg.DNSLinkDomains {
		if bare == d { // a DNSLink origin: its site, from the gateway only
			return true
		}
	}
	for _, d := range s.cfg.GatewayDomains {
		h := host
		if d == stripPort(d) {
			h = bare
		}
		for _, ns := range subdomainNamespaces {
			if suffix := "." + ns + "." + d; strings.HasSuffix(h, suffix) && len(h) > len(suffix) {
				return true
			}
		}
	}
	return false
}

// rootLabel is the {id} of a content host {id}.{ns}.{domain}: the CID a
// gateway read is counted for.
func rootLabel(host string) string {
	for _, ns := range subdomainNamespaces {
		if i := strings.Index(host, "."+ns+"."); i > 0 {
			return host[:i]
		}
	}
	return ""
}

func stripPort(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// gatewayHost is the host a gateway request is for: X-Forwarded-Host when
// a trusted proxy (--trusted-proxies) sent it, else the Host header.
func (s *Server) gatewayHost(r *http.Request) string {
	if xh := r.Header.Get("X-Forwarded-Host"); xh != "" && s.trustedPeer(r) {
		return firstValue(xh)
	}
	return r.Host
}

// gatewayRequest is r as the node's gateway handler may see it. boxo
// believes X-Forwarded-Host (the host it maps to a CID) and
// X-Forwarded-Proto (the scheme of its redirects): from anyone but a
// trusted proxy they are dropped, so that the host the server isolated is
// the host boxo serves. A request that came over TLS says so in
// X-Forwarded-Proto, which boxo reads, so its redirects stay on HTTPS.
func (s *Server) gatewayRequest(r *http.Request) *http.Request {
	forwarded := r.Header.Get("X-Forwarded-Host") != "" || r.Header.Get("X-Forwarded-Proto") != ""
	trusted := forwarded && s.trustedPeer(r)
	if (!forwarded || trusted) && r.TLS == nil {
		return r
	}
	r = r.Clone(r.Context())
	if !trusted {
		r.Header.Del("X-Forwarded-Host")
		r.Header.Del("X-Forwarded-Proto")
	}
	if r.TLS != nil {
		r.Header.Set("X-Forwarded-Proto", "https")
	}
	return r
}

// contentOrigins sends every request for a content host to the gateway,
// before the API's CORS and routes see it; other hosts go to next.
func (s *Server) contentOrigins(next http.Handler) http.Handler {
	if len(s.cfg.GatewayDomains) == 0 && len(s.cfg.DNSLinkDomains) == 0 {
		return next
	}
	content := s.wrap(route{pattern: "subdomain gateway", public: true, h: s.handleContentHost})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.contentHost(s.gatewayHost(r)) {
			content.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handleContentHost serves a content host: GET and HEAD through the
// gateway, OPTIONS as on the path gateway, nothing else. Its responses
// carry no CSP sandbox: the host is the content's own origin, where a
// site's scripts and storage are meant to work, and which holds no
// credential of ninja's.
func (s *Server) handleContentHost(w http.ResponseWriter, r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		return s.handleGatewayOptions(w, r)
	default:
		setGatewayCORS(w.Header())
		w.Header().Set("Allow", gatewayCORSMethods)
		return fmt.Errorf("%w: %s is not allowed on a gateway host, which serves content only", errMethodNotAllowed, r.Method)
	}
	setGatewayCORS(w.Header())
	if s.gateway == nil {
		return fmt.Errorf("%w: this server has no gateway", pinning.ErrUnavailable)
	}
	release, err := s.gatewaySlots.acquire(s.clientIP(r))
	if err != nil {
		return err
	}
	defer release()
	w.Header().Set("X-Content-Type-Options", "nosniff")
	cw := &countingWriter{ResponseWriter: w}
	s.gateway.ServeHTTP(cw, s.gatewayRequest(r))
	if cw.n > 0 {
		s.svc.RecordGatewayRead(rootLabel(strings.ToLower(s.gatewayHost(r))), cw.status, cw.n)
	}
	return nil
}

// subdomainURL is the subdomain gateway link of CID c on the first
// gateway domain, {cidv1b32}.ipfs.{domain}/, or "" when c is no CID or
// its CIDv1 does not fit a DNS label (63 bytes; sha2-256 CIDs fit).
// The scheme is https when this server serves HTTPS, its public URL is
// https, or the request came over HTTPS.
func (s *Server) subdomainURL(r *http.Request, c string) string {
	parsed, err := cid.Decode(c)
	if err != nil {
		return ""
	}
	label := cid.NewCidV1(parsed.Type(), parsed.Hash()).String() // base32
	if len(label) > 63 {
		return ""
	}
	return s.gatewayScheme(r) + "://" + label + ".ipfs." + s.cfg.GatewayDomains[0] + "/"
}

// gatewayScheme is the scheme of the subdomain gateway's links: https when
// the server serves TLS, its public URL is https, or r came over HTTPS.
func (s *Server) gatewayScheme(r *http.Request) string {
	if s.cfg.HTTPS || strings.HasPrefix(s.cfg.PublicURL, "https://") || r.TLS != nil || s.proxiedHTTPS(r) {
		return "https"
	}
	return "http"
}

// normalizeDomains is the gateway domains as hosts are compared with
// them: lower case, without a trailing dot or slash, blanks dropped.
func normalizeDomains(ds []string) []string {
	var out []string
	for _, d := range ds {
		d = strings.TrimRight(strings.ToLower(strings.TrimSpace(d)), "./")
		if d != "" {
			out = append(out, d)
		}
	}
	return out
}
