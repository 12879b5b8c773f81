package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ninja-ipfs/ninja/app"
)

// tlsFlags are serve's HTTPS settings.
type tlsFlags struct {
	https          string
	cert, key      string
	acmeDomains    []string
	acmeEmail      string
	acmeCA         string
	acmeCARoot     string
	acmeChallenges []string
	acmeEABKeyID   string
	acmeEABHMAC    string
}

// The ACME challenge types --acme-challenges names.
const (
	challengeHTTP01    = "http-01"
	challengeTLSALPN01 = "tls-alpn-01"
)

func (f *serveFlags) registerTLS(fl *pflag.FlagSet) {
	t := &f.tls
	fl.StringVar(&t.https, "https", "", "HTTPS listen address, with --tls-cert or --acme-domains (NINJA_HTTPS); default :443; --http then redirects to it")
	fl.StringVar(&t.cert, "tls-cert", "", "PEM certificate chain for HTTPS, read again when it changes or on SIGHUP (NINJA_TLS_CERT)")
	fl.StringVar(&t.key, "tls-key", "", "PEM private key of --tls-cert (NINJA_TLS_KEY)")
	fl.StringSliceVar(&t.acmeDomains, "acme-domains", nil, "obtain and renew a certificate for these names with ACME, comma-separated (NINJA_ACME_DOMAINS); --http then defaults to :80 for HTTP-01")
	fl.StringVar(&t.acmeEmail, "acme-email", "", "contact address of the ACME account, for expiry notices (NINJA_ACME_EMAIL)")
	fl.StringVar(&t.acmeCA, "acme-ca", app.LetsEncrypt, "ACME directory URL (NINJA_ACME_CA); e.g. Let's Encrypt's staging https://acme-staging-v02.api.letsencrypt.org/directory")
	fl.StringVar(&t.acmeCARoot, "acme-ca-root", "", "PEM file of roots to trust for the ACME CA's own HTTPS, for a private CA (NINJA_ACME_CA_ROOT); default: the system's")
	fl.StringSliceVar(&t.acmeChallenges, "acme-challenges", []string{challengeHTTP01, challengeTLSALPN01}, "ACME challenge types to use: http-01 (port 80), tls-alpn-01 (port 443) (NINJA_ACME_CHALLENGES)")
	fl.StringVar(&t.acmeEABKeyID, "acme-eab-kid", "", "external account binding key id, for CAs that require one (NINJA_ACME_EAB_KID)")
	fl.StringVar(&t.acmeEABHMAC, "acme-eab-hmac-key", "", "external account binding HMAC key, base64url (NINJA_ACME_EAB_HMAC_KEY)")
	for flag, env := range map[string]string{
		"https": "NINJA_HTTPS", "tls-cert": "NINJA_TLS_CERT", "tls-key": "NINJA_TLS_KEY",
		"acme-domains": "NINJA_ACME_DOMAINS", "acme-email": "NINJA_ACME_EMAIL", "acme-ca": "NINJA_ACME_CA",
		"acme-ca-root": "NINJA_ACME_CA_ROOT", "acme-challenges": "NINJA_ACME_CHALLENGES",
		"acme-eab-kid": "NINJA_ACME_EAB_KID", "acme-eab-hmac-key": "NINJA_ACME_EAB_HMAC_KEY",
	} {
		bindEnv(fl, flag, env)
	}
}

// on reports whether HTTPS is configured.
func (t *tlsFlags) on() bool { return t.cert != "" || t.key != "" || len(t.acmeDomains) > 0 }

// resolveAddrs applies the TLS defaults to the listen addresses: HTTPS on
// :443, and with ACME plain HTTP on :80 (HTTP-01 and redirects) unless
// --http was given.
func (f *serveFlags) resolveAddrs(httpGiven bool) error {
	t := &f.tls
	if !t.on() {
		if t.https != "" {
			return usageError{errors.New("--https needs --tls-cert and --tls-key, or --acme-domains")}
		}
		if f.httpAddr == "" {
			return usageError{errors.New("--http is empty: nothing to serve")}
		}
		return nil
	}
	if t.https == "" {
		t.https = ":443"
	}
	if len(t.acmeDomains) > 0 && !httpGiven {
		f.httpAddr = ":80"
	}
	for _, c := range t.acmeChallenges {
		if c != challengeHTTP01 && c != challengeTLSALPN01 {
			return usageError{fmt.Errorf("--acme-challenges: %q is neither %s nor %s", c, challengeHTTP01, challengeTLSALPN01)}
		}
	}
	if len(t.acmeDomains) > 0 && len(t.acmeChallenges) == 0 {
		return usageError{errors.New("--acme-challenges is empty: name http-01, tls-alpn-01 or both")}
	}
	if len(t.acmeDomains) > 0 && f.httpAddr == "" && slices.Contains(t.acmeChallenges, challengeHTTP01) {
		return usageError{errors.New("--acme-challenges http-01 needs the plain HTTP listener: set --http, or use only tls-alpn-01")}
	}
	return nil
}

// servingListeners are the TCP listeners serve opens before anything else,
// so a busy port fails before the data directory is touched.
type servingListeners struct {
	http, https, metrics net.Listener
}

func (l servingListeners) close() {
	for _, ln := range []net.Listener{l.http, l.https, l.metrics} {
		if ln != nil {
			ln.Close()
		}
	}
}

func (f *serveFlags) listen() (servingListeners, error) {
	var l servingListeners
	var err error
	open := func(what, addr string, into *net.Listener) {
		if err != nil || addr == "" {
			return
		}
		if *into, err = net.Listen("tcp", addr); err != nil {
			err = fmt.Errorf("listen %s: %w", what, err)
		}
	}
	open("http", f.httpAddr, &l.http)
	if f.tls.on() {
		open("https", f.tls.https, &l.https)
	}
	open("metrics", f.metricsAddr, &l.metrics)
	if err != nil {
		l.close()
	}
	return l, err
}

// newTLS builds HTTPS's certificate source, or nil without TLS.
func (t *tlsFlags) newTLS(ctx context.Context, layout app.Layout, l servingListeners, log *slog.Logger) (*app.TLS, error) {
	if !t.on() {
		return nil, nil
	}
	o := app.TLSOptions{CertFile: t.cert, KeyFile: t.key, Logger: log}
	if len(t.acmeDomains) > 0 {
		if t.cert != "" || t.key != "" {
			return nil, usageError{errors.New("--acme-domains and --tls-cert/--tls-key exclude each other")}
		}
		o.ACME = app.ACMEOptions{
			Domains: t.acmeDomains, Email: t.acmeEmail, CA: t.acmeCA, Dir: layout.ACME(),
			DisableHTTP01:    !slices.Contains(t.acmeChallenges, challengeHTTP01),
			DisableTLSALPN01: !slices.Contains(t.acmeChallenges, challengeTLSALPN01),
			EABKeyID:         t.acmeEABKeyID, EABHMACKey: t.acmeEABHMAC,
			TLSAddr: l.https.Addr().String(),
		}
		if l.http != nil {
			o.ACME.HTTPAddr = l.http.Addr().String()
		}
		if t.acmeCARoot != "" {
			pool, err := readCertPool(t.acmeCARoot)
			if err != nil {
				return nil, fmt.Errorf("--acme-ca-root: %w", err)
			}
			o.ACME.CARoots = pool
		}
	}
	return app.NewTLS(ctx, o)
}

func readCertPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// printAddrs prints where the server listens, as serve's first lines.
func (f *serveFlags) printAddrs(w io.Writer, l servingListeners, log *slog.Logger) {
	if l.https == nil {
		fmt.Fprintf(w, "HTTP API and gateway: http://%s\n", l.http.Addr())
		return
	}
	fmt.Fprintf(w, "HTTPS API and gateway: https://%s\n", l.https.Addr())
	if l.http != nil {
		fmt.Fprintf(w, "HTTP: http://%s (redirects to HTTPS)\n", l.http.Addr())
	}
	if len(f.tls.acmeDomains) > 0 {
		fmt.Fprintf(w, "ACME: certificates for %s from %s, obtained and renewed in the background\n", strings.Join(f.tls.acmeDomains, ", "), f.tls.acmeCA)
	}
	if strings.HasPrefix(f.publicURL, "http://") {
		log.Warn("--public-url is http:// while HTTPS is on: uris.url links will use plain HTTP", "public_url", f.publicURL)
	}
}
