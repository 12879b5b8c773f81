package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// certFiles writes a self-signed certificate for 127.0.0.1 and returns
// the file names and a pool trusting it.
func certFiles(t *testing.T) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "ninja"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	kb, _ := x509.MarshalECPrivateKey(k)
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return cert, key, pool
}

func TestServeWithCertificateFilesServesHTTPSAndRedirectsHTTP(t *testing.T) {
	cert, key, pool := certFiles(t)
	s := serveInProcess(t, t.TempDir(), "--tls-cert", cert, "--tls-key", key, "--https", "127.0.0.1:0")
	if !strings.HasPrefix(s.url, "https://127.0.0.1:") {
		t.Fatalf("serve printed %q as its API address:\n%s", s.url, s.out)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(s.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /readyz over HTTPS: %d", resp.StatusCode)
	}
	m := regexp.MustCompile(`HTTP: (http://\S+) \(redirects to HTTPS\)`).FindStringSubmatch(s.out)
	if m == nil {
		t.Fatalf("serve did not print its plain HTTP address:\n%s", s.out)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(m[1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 308 || loc != s.url+"/healthz" {
		t.Errorf("plain HTTP: %d to %q, want 308 to %s/healthz", resp.StatusCode, loc, s.url)
	}
}

func TestServeRefusesTLSSettingsThatCannotWork(t *testing.T) {
	cert, key, _ := certFiles(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"an HTTPS address without a certificate", []string{"--https", "127.0.0.1:0"}, "--https needs"},
		{"a certificate without its key", []string{"--tls-cert", cert, "--https", "127.0.0.1:0"}, "key"},
		{"both files and ACME", []string{"--tls-cert", cert, "--tls-key", key, "--acme-domains", "a.example.com", "--https", "127.0.0.1:0", "--http", "127.0.0.1:0"}, "exclude each other"},
		{"an unknown challenge type", []string{"--acme-domains", "a.example.com", "--acme-challenges", "dns-01"}, "dns-01"},
		{"HTTP-01 without a plain HTTP listener", []string{"--acme-domains", "a.example.com", "--http", ""}, "http-01 needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--data", t.TempDir(), "--p2p", "/ip4/127.0.0.1/tcp/0", "--offline"}, tt.args...)
			_, errb, code := run(t, args...)
			if code == 0 || !strings.Contains(errb, tt.want) {
				t.Fatalf("exit %d, %q; want a failure saying %q", code, errb, tt.want)
			}
		})
	}
}
