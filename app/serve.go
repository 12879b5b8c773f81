package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// ServeOptions configures Serve.
type ServeOptions struct {
	// HTTP serves the public API, the gateway and the UI; with TLS it only
	// redirects to HTTPS (and answers ACME HTTP-01 challenges). It may be
	// nil with TLS.
	HTTP net.Listener
	// HTTPS, with TLS, serves the public API over TLS.
	HTTPS net.Listener
	// TLS supplies HTTPS's certificates (see NewTLS); nil means no HTTPS.
	TLS *TLS
	// Reload makes TLS read its certificate files again (the CLI sends on
	// it for SIGHUP); nil means never.
	Reload <-chan struct{}
	// Socket, when set, serves the admin API to whoever can open it.
	Socket net.Listener
	// Metrics, when set, serves GET /metrics without a credential (bind it
	// to a private address); without it /metrics is on HTTP behind the
	// metrics scope.
	Metrics net.Listener
	// GCInterval runs garbage collection this often; 0 never.
	GCInterval time.Duration
	// ShutdownTimeout is how long requests in flight get to finish once
	// ctx is done (the drain); 0 means 30 s. What is still running then is
	// cancelled: unacknowledged, nothing recorded.
	ShutdownTimeout time.Duration
	// MaxConnsPerAddr caps the HTTP connections open at once from one
	// client address (0: no cap); TrustedProxies are exempt, since every
	// client comes through them.
	MaxConnsPerAddr int
	TrustedProxies  []netip.Prefix
	Logger          *slog.Logger
}

// Serve serves the HTTP API and the admin socket (and runs periodic GC)
// until ctx, the signal context, is done, then drains: it stops accepting
// connections, lets the requests in flight finish for ShutdownTimeout (a
// 30 GiB upload at 99% is not lost to a restart), then cancels what is
// left and closes every connection. It does not close the App.
//
// Requests run under a context of their own that is cancelled only when
// the drain times out, so a request cut short then fails before its commit
// and records nothing; one that finishes in time is acknowledged as usual.
func (a *App) Serve(ctx context.Context, o ServeOptions) error {
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	base := func(net.Listener) context.Context { return reqCtx }
	listeners, err := a.listeners(o, base, log)
	if err != nil {
		return err
	}
	servers := make([]*http.Server, len(listeners))
	eg, egctx := errgroup.WithContext(ctx)
	for i, l := range listeners {
		servers[i] = l.srv
		eg.Go(func() error {
			if l.srv.TLSConfig != nil {
				return closedIsNil(l.srv.ServeTLS(l.ln, "", ""))
			}
			return closedIsNil(l.srv.Serve(l.ln))
		})
	}
	if o.GCInterval > 0 {
		eg.Go(func() error { a.Service.RunGC(egctx, o.GCInterval); return nil })
	}
	if o.TLS != nil && o.Reload != nil {
		eg.Go(func() error { reloadOn(egctx, o.Reload, o.TLS, log); return nil })
	}
	eg.Go(func() error {
		<-egctx.Done()
		drain(log, servers, o.ShutdownTimeout, cancelRequests)
		return nil
	})
	return eg.Wait()
}

// drain shuts the servers down gracefully within timeout; past it, it
// cancels the requests still running, gives them a moment to return
// unacknowledged, and closes their connections.
func drain(log *slog.Logger, servers []*http.Server, timeout time.Duration, cancelRequests context.CancelFunc) {
	log.Info("draining: no new connections; requests in flight may finish", "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup
	late := false
	var mu sync.Mutex
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Shutdown(ctx); err != nil {
				mu.Lock()
				late = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if !late {
		log.Info("drained")
		return
	}
	log.Warn("cancelling the requests still running after the drain timeout", "timeout", timeout)
	cancelRequests()
	time.Sleep(200 * time.Millisecond) // let the cancelled handlers return before their connections go
	for _, s := range servers {
		s.Close()
	}
}

// served is one HTTP server and the listener it serves.
type served struct {
	srv *http.Server
	ln  net.Listener
}

// listeners builds the servers Serve runs: the public API on HTTP, or on
// HTTPS with HTTP redirecting to it; the admin socket; the metrics
// listener.
func (a *App) listeners(o ServeOptions, base func(net.Listener) context.Context, log *slog.Logger) ([]served, error) {
	public := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			BaseContext:       base,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		}
	}
	var out []served
	switch {
	case o.TLS != nil && o.HTTPS != nil:
		https := public(a.Server.Handler())
		https.TLSConfig = o.TLS.Config()
		out = append(out, served{https, guardListener(o.HTTPS, o.MaxConnsPerAddr, o.TrustedProxies, log)})
		if o.HTTP != nil {
			_, port, _ := net.SplitHostPort(o.HTTPS.Addr().String())
			out = append(out, served{public(o.TLS.HTTPHandler(port)), guardListener(o.HTTP, o.MaxConnsPerAddr, o.TrustedProxies, log)})
		}
	case o.TLS != nil || o.HTTPS != nil:
		return nil, errors.New("serve: HTTPS needs both a listener and TLS")
	case o.HTTP == nil:
		return nil, errors.New("serve: no HTTP listener")
	default:
		out = append(out, served{public(a.Server.Handler()), guardListener(o.HTTP, o.MaxConnsPerAddr, o.TrustedProxies, log)})
	}
	if o.Socket != nil {
		out = append(out, served{&http.Server{Handler: a.Server.AdminHandler(), ReadHeaderTimeout: 10 * time.Second, BaseContext: base}, o.Socket})
	}
	if o.Metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.Metrics.Handler())
		out = append(out, served{&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, o.Metrics})
	}
	return out, nil
}

// reloadOn reloads t's certificate files whenever reload receives, until
// ctx is done. A pair that does not load is logged by Reload; the one in
// use stays.
func reloadOn(ctx context.Context, reload <-chan struct{}, t *TLS, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload:
			if err := t.Reload(); err == nil {
				log.Info("certificate files read again")
			}
		}
	}
}

func closedIsNil(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ListenSocket opens the admin unix socket with mode 0600. A stale socket
// left by a crash is removed; a live one means another server runs here.
func ListenSocket(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("admin socket %s is in use: is another ninja running?", path)
	}
	os.Remove(path)
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
