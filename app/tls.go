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
	"sync"
	"sync/atomic"
	"time"
)

// TLSOptions configures NewTLS: a certificate pair from files, or ACME.
type TLSOptions struct {
	// CertFile and KeyFile are a PEM certificate chain and its private key.
	// They are read again when either file changes (polled every
	// ReloadInterval) and on Reload (SIGHUP); a new pair that does not load
	// is logged and the pair in use kept.
	CertFile, KeyFile string
	// ReloadInterval is how often the files are checked; 0 means 5 s.
	ReloadInterval time.Duration
	// ACME, when ACME.Domains is set, obtains and renews certificates from
	// an ACME CA instead (CertFile and KeyFile must then be empty).
	ACME   ACMEOptions
	Logger *slog.Logger
}

// TLS supplies the HTTPS listener's certificates. Create it with NewTLS;
// its background work (polling the files, or obtaining and renewing
// certificates) runs until Close.
type TLS struct {
	files *certFiles   // with CertFile and KeyFile
	acme  *acmeManager // with ACME.Domains

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewTLS loads the certificate files (an error if they do not load: a
// server that cannot serve HTTPS should not start) or starts ACME. For
// ACME, o.ACME's HTTPAddr and TLSAddr must be the listeners' addresses:
// the CA's validation requests arrive there.
func NewTLS(ctx context.Context, o TLSOptions) (*TLS, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	acmeOn := len(o.ACME.Domains) > 0
	switch {
	case acmeOn && (o.CertFile != "" || o.KeyFile != ""):
		return nil, errors.New("tls: certificate files and ACME domains exclude each other")
	case !acmeOn && (o.CertFile == "") != (o.KeyFile == ""):
		return nil, errors.New("tls: a certificate file needs its key file, and a key file its certificate")
	case !acmeOn && o.CertFile == "":
		return nil, errors.New("tls: neither certificate files nor ACME domains given")
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t := &TLS{cancel: cancel}
	if acmeOn {
		o.ACME.Logger = o.Logger
		m, err := newACME(bg, o.ACME)
		if err != nil {
			cancel()
			return nil, err
		}
		t.acme = m
		return t, nil
	}
	f, err := loadCertFiles(o.CertFile, o.KeyFile, o.Logger)
	if err != nil {
		cancel()
		return nil, err
	}
	t.files = f
	interval := o.ReloadInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t.wg.Add(1)
	go func() { defer t.wg.Done(); f.poll(bg, interval) }()
	return t, nil
}

// Config is the tls.Config of the HTTPS listener: certificates chosen per
// handshake, so a reload or renewal applies to the next connection while
// open ones keep theirs.
func (t *TLS) Config() *tls.Config {
	if t.acme != nil {
		return t.acme.tlsConfig()
	}
	return &tls.Config{GetCertificate: t.files.getCertificate, MinVersion: tls.VersionTLS12}
}

// HTTPHandler is what the plain HTTP listener serves with TLS on: ACME
// HTTP-01 challenges (with ACME), and a redirect to HTTPS for everything
// else.
func (t *TLS) HTTPHandler(httpsPort string) http.Handler {
	h := redirectToHTTPS(httpsPort)
	if t.acme != nil {
		return t.acme.httpHandler(h)
	}
	return h
}

// Reload reads the certificate files again now (SIGHUP). With ACME it does
// nothing: certificates are renewed on their own schedule.
func (t *TLS) Reload() error {
	if t.files == nil {
		return nil
	}
	return t.files.reload(true)
}

// Close stops the background work.
func (t *TLS) Close(ctx context.Context) error {
	t.cancel()
	if t.acme != nil {
		t.acme.close()
	}
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close tls: %w", ctx.Err())
	}
}

// certFiles is a certificate pair read from files and swapped atomically
// when they change.
type certFiles struct {
	certPath, keyPath string
	log               *slog.Logger

	cur   atomic.Pointer[tls.Certificate]
	mu    sync.Mutex // serialises reloads
	stamp [2]fileStamp
}

// fileStamp identifies a version of a file: a rewrite in place changes
// its modification time or size, a replacement (rename over it, as
// certbot and Kubernetes secrets do) its inode.
type fileStamp struct {
	mod  time.Time
	size int64
	info os.FileInfo
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size(), info: fi}, nil
}

// same reports the same version; a file missing both times counts as
// unchanged, so a deleted file is reported once, not at every poll.
func (a fileStamp) same(b fileStamp) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return a.mod.Equal(b.mod) && a.size == b.size && os.SameFile(a.info, b.info)
}

func loadCertFiles(certPath, keyPath string, log *slog.Logger) (*certFiles, error) {
	f := &certFiles{certPath: certPath, keyPath: keyPath, log: log}
	if err := f.reload(true); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *certFiles) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.cur.Load(), nil
}

// poll reloads the pair whenever either file changes, until ctx is done.
func (f *certFiles) poll(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.reload(false)
		}
	}
}

// reload loads the pair if it changed (or always, with force) and swaps it
// in. A pair that does not load is logged once per version of the files
// and the pair in use is kept: a half-written renewal (the certificate
// replaced, the key not yet) is retried at the next change.
func (f *certFiles) reload(force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cs, _ := stampOf(f.certPath)
	ks, _ := stampOf(f.keyPath)
	if !force && cs.same(f.stamp[0]) && ks.same(f.stamp[1]) {
		return nil
	}
	f.stamp = [2]fileStamp{cs, ks}
	pair, err := tls.LoadX509KeyPair(f.certPath, f.keyPath)
	if err != nil {
		err = fmt.Errorf("tls: load certificate %s and key %s: %w", f.certPath, f.keyPath, err)
		if f.cur.Load() != nil {
			f.log.Error("certificate not reloaded; still serving the previous one", "err", err)
		}
		return err
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return fmt.Errorf("tls: parse certificate %s: %w", f.certPath, err)
		}
	}
	old := f.cur.Swap(&pair)
	if old != nil {
		f.log.Info("certificate reloaded", "subject", leaf.Subject.String(), "names", leaf.DNSNames, "not_after", leaf.NotAfter)
	}
	if until := time.Until(leaf.NotAfter); until < 7*24*time.Hour {
		f.log.Warn("the certificate expires soon", "file", f.certPath, "not_after", leaf.NotAfter)
	}
	return nil
}

// redirectToHTTPS answers every request with a permanent redirect to the
// same host and path over HTTPS. 308 keeps the method and body, so a
// client that follows it re-sends an upload rather than turning it into
// a GET.
func redirectToHTTPS(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "use https", http.StatusBadRequest)
			return
		}
		if httpsPort != "" && httpsPort != "443" {
			host = net.JoinHostPort(host, httpsPort)
		} else if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			host = "[" + host + "]"
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}
