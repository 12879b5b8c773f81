//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/app"
)

// acmeDomain is the name ninja gets certificates for; the test's DNS
// server resolves it (and every name) to 127.0.0.1 for pebble.
const acmeDomain = "ninja.test"

// certValidity is how long pebble's certificates last: short, so that
// renewal, which certmagic starts once a third of the lifetime is left
// (or when the CA's renewal information says), happens within the test.
const certValidity = 45 * time.Second

// pebble is Let's Encrypt's ACME test server (github.com/letsencrypt/
// pebble/v2, built by `make pebble`) on loopback, validating challenges
// for real: no PEBBLE_VA_ALWAYS_VALID.
type pebble struct {
	directory string         // the ACME directory URL
	tlsRoots  *x509.CertPool // for pebble's own HTTPS
	roots     *x509.CertPool // the roots of the certificates it issues
	log       *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPebble runs pebble validating HTTP-01 on httpPort and TLS-ALPN-01
// on tlsPort of whatever dns resolves names to.
func startPebble(t *testing.T, httpPort, tlsPort int, dns string) *pebble {
	t.Helper()
	bin := os.Getenv("PEBBLE_BIN")
	if bin == "" {
		t.Skip("PEBBLE_BIN is not set (make pebble builds pebble v2.8.0)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("PEBBLE_BIN: %v", err)
	}
	ca := newTestCA(t)
	cert, key := ca.leaf(t)
	api, mgmt := freePort(t), freePort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", api),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate":                    cert,
		"privateKey":                     key,
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"profiles": map[string]any{"default": map[string]any{
			"description": "short-lived, so that renewal happens during the test", "validityPeriod": int(certValidity.Seconds()),
		}},
	}}
	b, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(t.TempDir(), "pebble.json")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-config", cfgPath, "-dnsserver", dns)
	// No sleep before validating, no nonces refused at random, and no
	// authorization reused: every certificate, renewals too, is validated.
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	p := &pebble{directory: fmt.Sprintf("https://127.0.0.1:%d/dir", api), tlsRoots: ca.pool(), log: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("pebble's log:\n%s", p.log)
		}
	})
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.tlsRoots}}, Timeout: 5 * time.Second}
	get := func(url string) ([]byte, error) {
		resp, err := hc.Get(url)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("%s: %d", url, resp.StatusCode)
		}
		return io.ReadAll(resp.Body)
	}
	poll(t, 30*time.Second, "pebble to serve its directory", func() bool { _, err := get(p.directory); return err == nil })
	root, err := get(fmt.Sprintf("https://127.0.0.1:%d/roots/0", mgmt))
	if err != nil {
		t.Fatal(err)
	}
	p.roots = x509.NewCertPool()
	if !p.roots.AppendCertsFromPEM(root) {
		t.Fatalf("pebble's root is not PEM: %q", root)
	}
	return p
}

// poll checks cond every 50 ms until it holds or d passes.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// servedCert does a TLS handshake with ninja for acmeDomain, verifying the
// certificate against roots; nil if the handshake fails.
func servedCert(addr string, roots *x509.CertPool) *x509.Certificate {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: acmeDomain, RootCAs: roots})
	if err != nil {
		return nil
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

func TestACMECertificatesAreObtainedServedAndRenewed(t *testing.T) {
	dns := startDNS(t)
	// ninja's ports are chosen first: pebble validates on them, and each
	// subtest's ninja listens on them again.
	httpPort, tlsPort := freePort(t), freePort(t)
	p := startPebble(t, httpPort, tlsPort, dns)
	tests := []struct {
		name                  string
		noHTTP01, noTLSALPN01 bool
	}{
		{"HTTP-01 on the plain HTTP listener", false, true},
		{"TLS-ALPN-01 on the HTTPS listener", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			httpValidations := strings.Count(p.log.String(), "Attempting to validate w/ HTTP")
			valid := strings.Count(p.log.String(), "set VALID by completed challenge")
			logs := &syncBuffer{}
			lns := listenNinja(t, fmt.Sprintf("127.0.0.1:%d", httpPort), fmt.Sprintf("127.0.0.1:%d", tlsPort))
			n := startTLSNinja(t, lns, app.TLSOptions{ACME: app.ACMEOptions{
				Domains: []string{acmeDomain}, Email: "ops@ninja.test", CA: p.directory, CARoots: p.tlsRoots,
				DisableHTTP01: tt.noHTTP01, DisableTLSALPN01: tt.noTLSALPN01, RenewCheckInterval: time.Second,
			}}, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			defer func() {
				if t.Failed() {
					t.Logf("ninja's log:\n%s", logs)
				}
			}()
			var first *x509.Certificate
			poll(t, 90*time.Second, "a certificate from pebble", func() bool { first = servedCert(n.httpsAddr, p.roots); return first != nil })
			t.Logf("obtained serial %x, valid until %v", first.SerialNumber, first.NotAfter)
			checkServing(t, n, p)
			checkStorage(t, n.app.Layout.ACME())

			poll(t, 3*certValidity, "the certificate to be renewed", func() bool {
				c := servedCert(n.httpsAddr, p.roots)
				return c != nil && c.SerialNumber.Cmp(first.SerialNumber) != 0
			})
			renewed := servedCert(n.httpsAddr, p.roots)
			if !renewed.NotAfter.After(first.NotAfter) {
				t.Errorf("the renewed certificate ends %v, not after the first's %v", renewed.NotAfter, first.NotAfter)
			}
			t.Logf("renewed: serial %x, valid until %v", renewed.SerialNumber, renewed.NotAfter)
			// Both certificates were validated, by the challenge type asked for.
			plog := p.log.String()
			if got := strings.Count(plog, "set VALID by completed challenge") - valid; got < 2 {
				t.Errorf("pebble validated %d challenges, want one per certificate (2)", got)
			}
			if got := strings.Count(plog, "Attempting to validate w/ HTTP") - httpValidations; (got > 0) != !tt.noHTTP01 {
				t.Errorf("pebble made %d HTTP-01 validations; HTTP-01 enabled: %v", got, !tt.noHTTP01)
			}
		})
	}
}

// checkServing: the API answers over the ACME certificate with https
// links, and plain HTTP redirects to HTTPS.
func checkServing(t *testing.T, n *tlsNinja, p *pebble) {
	t.Helper()
	hc, base := n.client(acmeDomain, p.roots)
	resp, err := hc.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /readyz over HTTPS: %d", resp.StatusCode)
	}
	res := upload(t, hc, base, n.key, []byte("served over a certificate from an ACME CA"))
	if want := base + "/ipfs/" + res.CID; res.URIs.URL != want {
		t.Errorf("uris.url = %q, want %q", res.URIs.URL, want)
	}
	req, _ := http.NewRequest("GET", "http://"+n.httpAddr+"/upload/list?limit=1", nil)
	req.Host = acmeDomain
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := net.SplitHostPort(n.httpsAddr)
	if want := "https://" + acmeDomain + ":" + port + "/upload/list?limit=1"; resp.StatusCode != 308 || resp.Header.Get("Location") != want {
		t.Errorf("plain HTTP: %d %q, want 308 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

// checkStorage: the account key and certificates are in the data
// directory, files 0600 and directories 0700.
func checkStorage(t *testing.T, dir string) {
	t.Helper()
	var keys, certs int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		switch {
		case d.IsDir() && fi.Mode().Perm() != 0o700:
			t.Errorf("%s has mode %v, want 0700", path, fi.Mode().Perm())
		case !d.IsDir() && !strings.HasSuffix(path, ".lock") && fi.Mode().Perm() != 0o600:
			t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
		}
		if strings.HasSuffix(path, ".key") {
			keys++
		}
		if strings.HasSuffix(path, ".crt") {
			certs++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if keys < 2 || certs < 1 {
		t.Errorf("%s holds %d keys and %d certificates, want the account key, the certificate and its key", dir, keys, certs)
	}
}
