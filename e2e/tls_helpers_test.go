//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/token"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	pemPath string // the CA certificate, PEM
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ninja e2e test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, pemPath: filepath.Join(t.TempDir(), "ca.pem")}
	writePEM(t, ca.pemPath, "CERTIFICATE", der)
	return ca
}

// leaf writes a server certificate for localhost and 127.0.0.1 signed by
// the CA, and returns the paths of the certificate and its key.
func (ca *testCA) leaf(t *testing.T) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certPath, "CERTIFICATE", der)
	kb, _ := x509.MarshalECPrivateKey(key)
	writePEM(t, keyPath, "EC PRIVATE KEY", kb)
	return certPath, keyPath
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsNinja is ninja serving its API and gateway over HTTPS (and plain HTTP
// redirecting to it), opened and served by the same wiring as `ninja
// serve`.
type tlsNinja struct {
	app       *app.App
	httpsAddr string
	httpAddr  string
	key       string // upload, pins:read
	hc        *http.Client
	base      string // https://HOST:PORT the client uses
	stop      func()
}

// ninjaListeners are the HTTP and HTTPS listeners of a tlsNinja, opened
// before it so that their ports can be handed to an ACME CA first.
type ninjaListeners struct{ http, https net.Listener }

func listenNinja(t *testing.T, httpAddr, httpsAddr string) ninjaListeners {
	t.Helper()
	h, err := net.Listen("tcp", httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	s, err := net.Listen("tcp", httpsAddr)
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	return ninjaListeners{http: h, https: s}
}

// startTLSNinja opens a data directory and serves it on lns with the TLS
// options (their Logger is set here), until the test ends.
func startTLSNinja(t *testing.T, lns ninjaListeners, o app.TLSOptions, logger *slog.Logger) *tlsNinja {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, app.Options{
		DataDir: t.TempDir(), Create: true, Network: true,
		Node:   node.Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Offline: true, AllowPrivatePeers: true},
		Fetch:  pinning.FetchConfig{Timeout: time.Minute},
		Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	o.Logger = logger
	if len(o.ACME.Domains) > 0 {
		o.ACME.Dir = a.Layout.ACME()
		o.ACME.HTTPAddr, o.ACME.TLSAddr = lns.http.Addr().String(), lns.https.Addr().String()
	}
	tl, err := app.NewTLS(ctx, o)
	if err != nil {
		a.Close(ctx)
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- a.Serve(ctx, app.ServeOptions{HTTP: lns.http, HTTPS: lns.https, TLS: tl, ShutdownTimeout: time.Second, Logger: logger})
	}()
	acct, err := a.Service.CreateAccount(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := a.Service.CreateAPIKey(ctx, acct.ID, "e2e", []token.Scope{token.ScopeUpload, token.ScopePinsRead})
	if err != nil {
		t.Fatal(err)
	}
	n := &tlsNinja{app: a, httpsAddr: lns.https.Addr().String(), httpAddr: lns.http.Addr().String(), key: key}
	var once bool
	n.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		tl.Close(context.Background())
		a.Close(context.Background())
	}
	t.Cleanup(n.stop)
	return n
}

// client returns an HTTPS client that reaches n under the name host
// (whatever it resolves to) and trusts roots.
func (n *tlsNinja) client(host string, roots *x509.CertPool) (*http.Client, string) {
	addr := n.httpsAddr
	_, port, _ := net.SplitHostPort(addr)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: tr, Timeout: time.Minute}, "https://" + net.JoinHostPort(host, port)
}

// upload posts data over hc as one file and returns the answer.
func upload(t *testing.T, hc *http.Client, base, key string, data []byte) api.UploadResult {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("file", "data.bin")
	w.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var res api.UploadResult
	if resp.StatusCode != 200 || json.Unmarshal(b, &res) != nil {
		t.Fatalf("upload over HTTPS: %d %s", resp.StatusCode, b)
	}
	return res
}
