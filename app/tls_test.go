package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/node"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost
// to certPath and keyPath (via a rename, as certbot replaces files) and
// returns it.
func selfSigned(t *testing.T, certPath, keyPath, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	writeAtomically(t, keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	writeAtomically(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	c, _ := x509.ParseCertificate(der)
	return c
}

func writeAtomically(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tlsServer is an App serving HTTPS with certificate files, and plain HTTP
// redirecting to it, on loopback.
type tlsServer struct {
	certPath, keyPath string
	https, http       string // addresses
	reload            chan struct{}
	log               *logBuffer
}

func startTLSServer(t *testing.T) (*tlsServer, *x509.Certificate) {
	t.Helper()
	dir := t.TempDir()
	s := &tlsServer{certPath: filepath.Join(dir, "cert.pem"), keyPath: filepath.Join(dir, "key.pem"),
		reload: make(chan struct{}), log: &logBuffer{}}
	first := selfSigned(t, s.certPath, s.keyPath, "first")
	logger := slog.New(slog.NewTextHandler(s.log, nil))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := Open(ctx, Options{DataDir: filepath.Join(dir, "data"), Create: true, Network: true, Logger: logger,
		Node: node.Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Offline: true}})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := NewTLS(ctx, TLSOptions{CertFile: s.certPath, KeyFile: s.keyPath, ReloadInterval: 20 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	httpsLn, _ := net.Listen("tcp", "127.0.0.1:0")
	httpLn, _ := net.Listen("tcp", "127.0.0.1:0")
	s.https, s.http = httpsLn.Addr().String(), httpLn.Addr().String()
	done := make(chan error, 1)
	go func() {
		done <- a.Serve(ctx, ServeOptions{HTTP: httpLn, HTTPS: httpsLn, TLS: tl, Reload: s.reload,
			ShutdownTimeout: time.Second, Logger: logger})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		tl.Close(context.Background())
		a.Close(context.Background())
	})
	return s, first
}

// servedSerial dials a new TLS connection and returns the serial number
// of the certificate the server presents.
func (s *tlsServer) servedSerial(t *testing.T) *big.Int {
	t.Helper()
	c, err := tls.Dial("tcp", s.https, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}

// waitFor polls cond every 10 ms for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestChangedCertificateFilesServeNewHandshakesWhileOpenConnectionsKeepWorking(t *testing.T) {
	s, first := startTLSServer(t)
	pool := x509.NewCertPool()
	pool.AddCert(first)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxConnsPerHost: 1}}
	get := func() (reused bool) {
		t.Helper()
		req, _ := http.NewRequest("GET", "https://"+s.https+"/healthz", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET over the open connection: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /healthz: %d", resp.StatusCode)
		}
		return reused
	}
	get() // opens the keep-alive connection, verified against the first certificate

	second := selfSigned(t, s.certPath, s.keyPath, "second")
	waitFor(t, "a new handshake to present the new certificate", func() bool {
		return s.servedSerial(t).Cmp(second.SerialNumber) == 0
	})
	if !get() {
		t.Error("the request after the reload did not reuse the open connection")
	}
	if !strings.Contains(s.log.String(), "certificate reloaded") {
		t.Errorf("the reload was not logged:\n%s", s.log)
	}
}

func TestABadNewPairIsLoggedAndTheOldOneKept(t *testing.T) {
	s, first := startTLSServer(t)
	// A renewal caught half-way: the new certificate, the old key.
	other := filepath.Join(t.TempDir(), "k.pem")
	selfSigned(t, s.certPath+".new", other, "mismatched")
	b, _ := os.ReadFile(s.certPath + ".new")
	writeAtomically(t, s.certPath, b)
	waitFor(t, "the failed reload to be logged", func() bool {
		return strings.Contains(s.log.String(), "certificate not reloaded")
	})
	if got := s.servedSerial(t); got.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("serving serial %v after a bad pair, want the old %v", got, first.SerialNumber)
	}
}

func TestSIGHUPReloadsAtOnce(t *testing.T) {
	s, _ := startTLSServer(t)
	second := selfSigned(t, s.certPath, s.keyPath, "second")
	s.reload <- struct{}{}
	waitFor(t, "the reload", func() bool { return s.servedSerial(t).Cmp(second.SerialNumber) == 0 })
}

func TestPlainHTTPRedirectsToHTTPSKeepingPathAndQuery(t *testing.T) {
	s, _ := startTLSServer(t)
	_, httpsPort, _ := net.SplitHostPort(s.https)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, method, path string
	}{
		{"an API call", "POST", "/upload?cidVersion=0"},
		{"a gateway read", "GET", "/ipfs/bafkqaaa/a%20b.txt"},
		{"a health check", "GET", "/readyz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://"+s.http+tt.path, strings.NewReader("body"))
			req.Host = "pin.example.com:8080"
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := "https://pin.example.com:" + httpsPort + tt.path
			if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
				t.Fatalf("%d Location %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
			}
		})
	}
}

func TestRedirectOmitsTheDefaultPort(t *testing.T) {
	req, _ := http.NewRequest("GET", "http://pin.example.com/x?y=1", nil)
	for _, tt := range []struct{ host, want string }{
		{"pin.example.com", "https://pin.example.com/x?y=1"},
		{"[2001:db8::1]:80", "https://[2001:db8::1]/x?y=1"},
	} {
		req.Host = tt.host
		rec := &headerRecorder{h: http.Header{}}
		redirectToHTTPS("443").ServeHTTP(rec, req)
		if got := rec.h.Get("Location"); got != tt.want {
			t.Errorf("Host %s: Location %q, want %q", tt.host, got, tt.want)
		}
	}
}

type headerRecorder struct {
	h    http.Header
	code int
}

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(c int)           { r.code = c }
