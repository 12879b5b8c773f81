package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3/acme"
)

// LetsEncrypt is the default ACME directory: Let's Encrypt's production CA.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// ACMEOptions configures automatic certificates.
//
// The library is github.com/caddyserver/certmagic (Caddy's), not
// golang.org/x/crypto/acme/autocert, because certificates now get short:
// certmagic renews when a fraction of the lifetime is left and follows the
// CA's ACME Renewal Information (ARI), where autocert renews a fixed 30
// days before expiry, which with Let's Encrypt's six-day certificates means
// renewing on every check. certmagic also retries failures with backoff for
// weeks, staples OCSP, locks its storage against a second process, solves
// HTTP-01 and TLS-ALPN-01 on listeners it does not own, takes any ACME CA
// (with external account binding for ZeroSSL and others), and can renew
// on demand. Its cost is a larger dependency tree (acmez, zap, libdns).
type ACMEOptions struct {
	// Domains are the names to obtain one certificate for; their DNS must
	// point at this server.
	Domains []string
	// Email is the ACME account's contact (expiry notices); optional.
	Email string
	// CA is the ACME directory URL; "" means LetsEncrypt.
	CA string
	// CARoots, when set, are the roots trusted for the CA's own HTTPS (a
	// private CA, or the test CA); nil means the system's.
	CARoots *x509.CertPool
	// DisableHTTP01 and DisableTLSALPN01 turn a challenge type off (both
	// are tried by default): HTTP-01 needs port 80 reachable, TLS-ALPN-01
	// port 443.
	DisableHTTP01, DisableTLSALPN01 bool
	// EABKeyID and EABHMACKey are an external account binding, for CAs
	// that require one; empty means none.
	EABKeyID, EABHMACKey string
	// Dir keeps the account key and the certificates (files 0600,
	// directories 0700); the wiring uses the data directory's acme/.
	Dir string
	// HTTPAddr and TLSAddr are the addresses the plain HTTP and the HTTPS
	// listeners really listen on: the CA's validation arrives there, and
	// certmagic must find those ports taken (by us) rather than open its
	// own solver on :80 and :443.
	HTTPAddr, TLSAddr string
	// RenewCheckInterval is how often certificates are checked for
	// renewal; 0 means certmagic's default (10 minutes). Tests shorten it.
	RenewCheckInterval time.Duration
	Logger             *slog.Logger
}

// acmeManager obtains, renews and serves the certificates of the domains.
type acmeManager struct {
	cache  *certmagic.Cache
	cfg    *certmagic.Config
	issuer *certmagic.ACMEIssuer
	first  string // the first domain, served to clients without SNI
}

// newACME starts managing o.Domains: certificates in o.Dir are loaded, and
// missing or expiring ones are obtained in the background (the listeners
// must already be accepting, for the challenges), then renewed until ctx
// is done. Errors of the CA are logged and retried with backoff.
func newACME(ctx context.Context, o ACMEOptions) (*acmeManager, error) {
	if o.Dir == "" {
		return nil, errors.New("acme: no storage directory")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("acme: %w", err)
	}
	if o.CA == "" {
		o.CA = LetsEncrypt
	}
	httpHost, httpPort, err := splitPort(o.HTTPAddr)
	if err != nil && !o.DisableHTTP01 {
		return nil, fmt.Errorf("acme: HTTP-01 needs the plain HTTP listener (--http): %w", err)
	}
	_, tlsPort, err := splitPort(o.TLSAddr)
	if err != nil {
		return nil, fmt.Errorf("acme: the HTTPS listener: %w", err)
	}
	zl := zapToSlog(o.Logger.With("component", "acme"))
	m := &acmeManager{first: o.Domains[0]}
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return m.cfg, nil },
		RenewCheckInterval: o.RenewCheckInterval,
		Logger:             zl,
	})
	m.cfg = certmagic.New(m.cache, certmagic.Config{
		Storage:           &certmagic.FileStorage{Path: o.Dir},
		DefaultServerName: o.Domains[0],
		Logger:            zl,
	})
	tmpl := certmagic.ACMEIssuer{
		CA: o.CA, Email: o.Email, Agreed: true, TrustedRoots: o.CARoots,
		DisableHTTPChallenge: o.DisableHTTP01, DisableTLSALPNChallenge: o.DisableTLSALPN01,
		// The solvers try to listen on these; finding them taken by our
		// listeners, they let our handlers answer (HTTPHandler and the
		// HTTPS listener's tls.Config).
		ListenHost: httpHost, AltHTTPPort: httpPort, AltTLSALPNPort: tlsPort,
		Logger: zl,
	}
	if o.EABKeyID != "" || o.EABHMACKey != "" {
		tmpl.ExternalAccount = &acme.EAB{KeyID: o.EABKeyID, MACKey: o.EABHMACKey}
	}
	m.issuer = certmagic.NewACMEIssuer(m.cfg, tmpl)
	m.cfg.Issuers = []certmagic.Issuer{m.issuer}
	if err := m.cfg.ManageAsync(ctx, o.Domains); err != nil {
		m.cache.Stop()
		return nil, fmt.Errorf("acme: manage %v: %w", o.Domains, err)
	}
	return m, nil
}

// splitPort splits a listener address into host and numeric port.
func splitPort(addr string) (string, int, error) {
	if addr == "" {
		return "", 0, errors.New("no address")
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port of %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "" // certmagic's solver then tries every address, as we listen
	}
	return host, port, nil
}

// tlsConfig serves the managed certificates and answers TLS-ALPN-01
// challenges (the acme-tls/1 protocol, offered after h2 and http/1.1 so
// browsers never pick it).
func (m *acmeManager) tlsConfig() *tls.Config {
	c := m.cfg.TLSConfig()
	c.NextProtos = []string{"h2", "http/1.1", "acme-tls/1"}
	c.MinVersion = tls.VersionTLS12
	return c
}

// httpHandler answers HTTP-01 challenges and passes the rest to next.
func (m *acmeManager) httpHandler(next http.Handler) http.Handler {
	return m.issuer.HTTPChallengeHandler(next)
}

func (m *acmeManager) close() { m.cache.Stop() }
