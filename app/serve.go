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
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// ServeOptions configures Serve.
type ServeOptions struct {
	// HTTP serves the public API, the gateway and the UI.
	HTTP net.Listener
	// Socket, when set, serves the admin API to whoever can open it.
	Socket net.Listener
	// Metrics, when set, serves GET /metrics without a credential (bind it
	// to a private address); without it /metrics is on HTTP behind the
	// metrics scope.
	Metrics net.Listener
	// GCInterval runs garbage collection this often; 0 never.
	GCInterval time.Duration
	// ShutdownGrace is how long requests in flight get to finish once ctx
	// is done; 0 means 5 s.
	ShutdownGrace time.Duration
	// MaxConnsPerAddr caps the HTTP connections open at once from one
	// client address (0: no cap); TrustedProxies are exempt, since every
	// client comes through them.
	MaxConnsPerAddr int
	TrustedProxies  []netip.Prefix
	Logger          *slog.Logger
}

// Serve serves the HTTP API and the admin socket (and runs periodic GC)
// until ctx, the signal context, is done, then shuts the servers down.
// It does not close the App.
//
// Every request's context is ctx, so handlers see the cancellation at once
// and fail before recording anything. The grace period lets them return; a
// handler still blocked reading a slow client's body then has its
// connection closed, which fails the read. Either way nothing
// unacknowledged is recorded.
func (a *App) Serve(ctx context.Context, o ServeOptions) error {
	if o.ShutdownGrace == 0 {
		o.ShutdownGrace = 5 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	httpSrv := &http.Server{
		Handler:           a.Server.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	sockSrv := &http.Server{Handler: a.Server.AdminHandler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}

	eg, egctx := errgroup.WithContext(ctx)
	httpLn := guardListener(o.HTTP, o.MaxConnsPerAddr, o.TrustedProxies, log)
	eg.Go(func() error { return serveUntilClosed(httpSrv, httpLn) })
	if o.Socket != nil {
		eg.Go(func() error { return serveUntilClosed(sockSrv, o.Socket) })
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	metricsSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if o.Metrics != nil {
		eg.Go(func() error { return serveUntilClosed(metricsSrv, o.Metrics) })
	}
	if o.GCInterval > 0 {
		eg.Go(func() error { a.Service.RunGC(egctx, o.GCInterval); return nil })
	}
	eg.Go(func() error {
		<-egctx.Done()
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownGrace)
		defer cancel()
		log.Info("shutting down")
		sockSrv.Shutdown(shutCtx)
		metricsSrv.Shutdown(shutCtx)
		if err := httpSrv.Shutdown(shutCtx); errors.Is(err, context.DeadlineExceeded) {
			log.Warn("closing connections of requests still running after the grace period")
			httpSrv.Close()
			sockSrv.Close()
		} else if err != nil {
			return err
		}
		return nil
	})
	return eg.Wait()
}

func serveUntilClosed(s *http.Server, ln net.Listener) error {
	if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
