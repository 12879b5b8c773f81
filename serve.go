package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/server"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// defaultBootstrap is the public IPFS (Amino DHT) bootstrap list, as Kubo
// ships it.
func defaultBootstrap() []string {
	return []string{
		"/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
		"/dnsaddr/bootstrap.libp2p.io/p2p/QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa",
		"/dnsaddr/bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
		"/dnsaddr/bootstrap.libp2p.io/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt",
		"/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
	}
}

type serveFlags struct {
	httpAddr       string
	p2p            string
	publicURL      string
	offline        bool
	bootstrap      string
	maxUpload      string
	trustedProxies string
	corsOrigins    string
	logLevel       string

	pinTimeout        time.Duration
	pinConcurrency    int
	pinPerAccount     int
	gcInterval        time.Duration
	reprovideInterval time.Duration
}

func newServeCmd(g *globalFlags) *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the pinning service (HTTP API, gateway and IPFS node)",
		Long: `Run the pinning service. The first start creates the data directory, a libp2p
identity, the database and the block store, and prints a one-time admin API key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bootstrap := defaultBootstrap()
			if cmd.Flags().Changed("bootstrap") || os.Getenv("NINJA_BOOTSTRAP") != "" || f.offline {
				bootstrap = splitList(f.bootstrap)
			}
			return serve(cmd.Context(), g, f, bootstrap, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.httpAddr, "http", envOr("NINJA_HTTP", "127.0.0.1:8080"), "HTTP listen address (NINJA_HTTP)")
	fl.StringVar(&f.p2p, "p2p", envOr("NINJA_P2P", "/ip4/0.0.0.0/tcp/4001,/ip4/0.0.0.0/udp/4001/quic-v1"), "libp2p listen multiaddrs, comma-separated (NINJA_P2P)")
	fl.StringVar(&f.publicURL, "public-url", os.Getenv("NINJA_PUBLIC_URL"), "public base URL of the gateway, used in uris.url (NINJA_PUBLIC_URL); default: the request's host")
	fl.BoolVar(&f.offline, "offline", os.Getenv("NINJA_OFFLINE") == "true", "no DHT and no bootstrap (NINJA_OFFLINE=true)")
	fl.StringVar(&f.bootstrap, "bootstrap", os.Getenv("NINJA_BOOTSTRAP"), "bootstrap peer multiaddrs, comma-separated (NINJA_BOOTSTRAP); default: the public IPFS bootstrap list")
	fl.StringVar(&f.maxUpload, "max-upload", envOr("NINJA_MAX_UPLOAD", "32GiB"), "largest accepted upload (NINJA_MAX_UPLOAD)")
	fl.StringVar(&f.trustedProxies, "trusted-proxies", os.Getenv("NINJA_TRUSTED_PROXIES"), "CIDRs of reverse proxies whose X-Forwarded-For is believed (NINJA_TRUSTED_PROXIES)")
	fl.StringVar(&f.corsOrigins, "cors-origins", envOr("NINJA_CORS_ORIGINS", "*"), "origins browsers may upload from, comma-separated, or * (NINJA_CORS_ORIGINS)")
	fl.StringVar(&f.logLevel, "log-level", envOr("NINJA_LOG_LEVEL", "info"), "debug, info, warn or error (NINJA_LOG_LEVEL)")
	fl.DurationVar(&f.pinTimeout, "pin-timeout", envDuration("NINJA_PIN_TIMEOUT", 10*time.Minute), "how long a pin-by-CID request may fetch before it fails (NINJA_PIN_TIMEOUT)")
	fl.IntVar(&f.pinConcurrency, "pin-concurrency", envInt("NINJA_PIN_CONCURRENCY", 8), "pin-by-CID fetches in flight across all accounts (NINJA_PIN_CONCURRENCY)")
	fl.IntVar(&f.pinPerAccount, "pin-concurrency-per-account", envInt("NINJA_PIN_CONCURRENCY_PER_ACCOUNT", 2), "pin-by-CID fetches in flight per account (NINJA_PIN_CONCURRENCY_PER_ACCOUNT)")
	fl.DurationVar(&f.gcInterval, "gc-interval", envDuration("NINJA_GC_INTERVAL", 0), "run garbage collection this often, e.g. 24h; 0 never (NINJA_GC_INTERVAL)")
	fl.DurationVar(&f.reprovideInterval, "reprovide-interval", envDuration("NINJA_REPROVIDE_INTERVAL", 22*time.Hour), "announce pinned roots to the DHT this often when online; 0 never (NINJA_REPROVIDE_INTERVAL)")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// paths inside the data directory.
func dbPath(dataDir string) string     { return filepath.Join(dataDir, "ninja.db") }
func sockPath(dataDir string) string   { return filepath.Join(dataDir, "ninja.sock") }
func secretPath(dataDir string) string { return filepath.Join(dataDir, "secret.key") }

// loadSecret reads the server secret that keys the hashes of API keys and
// tokens, creating it (0600) on first start.
func loadSecret(dataDir string) ([]byte, error) {
	p := secretPath(dataDir)
	b, err := os.ReadFile(p)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("server secret %s is too short", p)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read server secret: %w", err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := writeSecretFile(p, b); err != nil {
		return nil, fmt.Errorf("write server secret: %w", err)
	}
	return b, nil
}

// openStore opens the data directory's database and server secret,
// creating both on first use.
func openStore(dataDir string, logger *slog.Logger) (*store.Store, *token.Hasher, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create data directory: %w", err)
	}
	secret, err := loadSecret(dataDir)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(dbPath(dataDir), store.Options{Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	return st, token.NewHasher(secret), nil
}

// openExistingStore is openStore for client commands working on a stopped
// server's data directory: they never create one, so a mistyped --data is
// an error, and the one-time admin key is only ever minted (and printed)
// by `ninja serve`.
func openExistingStore(dataDir string, logger *slog.Logger) (*store.Store, *token.Hasher, error) {
	if _, err := os.Stat(dbPath(dataDir)); err != nil {
		return nil, nil, fmt.Errorf("no ninja database in %s (run `ninja serve --data %s` once, or pass the right --data): %w", dataDir, dataDir, err)
	}
	return openStore(dataDir, logger)
}

// firstStart creates the first account and its admin key when the database
// has no account yet, and returns the key's secret ("" otherwise).
func firstStart(st *store.Store, h *token.Hasher) (string, error) {
	accounts, err := st.Accounts()
	if err != nil || len(accounts) > 0 {
		return "", err
	}
	a, err := st.CreateAccount("default")
	if err != nil {
		return "", err
	}
	secret, _, err := server.MintAPIKey(st, h, a.ID, "admin", []token.Scope{token.ScopeAdmin})
	return secret, err
}

func serve(ctx context.Context, g *globalFlags, f *serveFlags, bootstrap []string, out io.Writer) error {
	cfg, logger, err := f.serverConfig()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, hasher, err := openStore(g.dataDir, logger)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w: is another `ninja serve` running on %s?", err, g.dataDir)
	}
	if err != nil {
		return err
	}
	defer closeWith("store", logger, st.Close)

	signer, err := loadSigner(g.dataDir)
	if err != nil {
		return err
	}
	adminKey, err := firstStart(st, hasher)
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}

	nd, err := node.New(ctx, node.Config{
		DataDir:     g.dataDir,
		ListenAddrs: splitList(f.p2p),
		Offline:     f.offline,
		Bootstrap:   bootstrap,
		Logger:      logger,
	})
	if err != nil {
		return err
	}
	defer closeWith("node", logger, nd.Close)

	pinner, err := server.NewPinner(server.PinnerConfig{
		Store:             st,
		Node:              nd,
		Timeout:           f.pinTimeout,
		MaxConcurrent:     f.pinConcurrency,
		MaxPerAccount:     f.pinPerAccount,
		ReprovideInterval: f.reprovideInterval,
		Logger:            logger,
	})
	if err != nil {
		return err
	}
	defer closeWith("pinner", logger, pinner.Close)

	srv := server.New(cfg, server.Deps{Store: st, Node: nd, Hasher: hasher, Pinner: pinner, Signer: signer})

	httpLn, err := net.Listen("tcp", f.httpAddr)
	if err != nil {
		return fmt.Errorf("listen http: %w", err)
	}
	sockLn, err := listenSocket(sockPath(g.dataDir))
	if err != nil {
		httpLn.Close()
		return err
	}
	defer os.Remove(sockPath(g.dataDir))

	fmt.Fprintf(out, "ninja %s\n", version)
	fmt.Fprintf(out, "HTTP API and gateway: http://%s\n", httpLn.Addr())
	fmt.Fprintf(out, "peer id: %s\n", nd.PeerID())
	for _, a := range nd.Addrs() {
		fmt.Fprintf(out, "libp2p: %s\n", a)
	}
	if adminKey != "" {
		fmt.Fprintf(out, "admin API key (shown once, store it now):\n%s\n", adminKey)
	}
	fmt.Fprintln(out, "ready")

	var gc func(context.Context)
	if f.gcInterval > 0 {
		gc = func(ctx context.Context) { periodicGC(ctx, srv, f.gcInterval, logger) }
	}
	return serveUntilSignal(ctx, logger, srv, httpLn, sockLn, gc)
}

// serverConfig turns the flags into the server's Config and the logger.
func (f *serveFlags) serverConfig() (server.Config, *slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return server.Config{}, nil, fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	maxUpload, err := token.ParseSize(f.maxUpload)
	if err != nil {
		return server.Config{}, nil, fmt.Errorf("--max-upload: %w", err)
	}
	var proxies []netip.Prefix
	if f.trustedProxies != "" {
		if proxies, err = token.ParseCIDRs(splitList(f.trustedProxies)); err != nil {
			return server.Config{}, nil, fmt.Errorf("--trusted-proxies: %w", err)
		}
	}
	return server.Config{
		PublicURL:      f.publicURL,
		MaxUploadBytes: maxUpload,
		TrustedProxies: proxies,
		CORSOrigins:    splitList(f.corsOrigins),
		Version:        version,
		Logger:         logger,
	}, logger, nil
}

// serveUntilSignal serves the HTTP API and the admin socket (and runs gc,
// if set) until ctx, the signal context, is done, then shuts down.
//
// Every request's context is the signal context, so handlers see the
// cancellation at once and fail before recording anything. The grace
// period lets them return; a handler still blocked reading a slow
// client's body after it has its connection closed, which fails the read.
// Either way nothing unacknowledged is recorded.
func serveUntilSignal(ctx context.Context, logger *slog.Logger, srv *server.Server, httpLn, sockLn net.Listener, gc func(context.Context)) error {
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	sockSrv := &http.Server{Handler: srv.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}

	eg, egctx := errgroup.WithContext(ctx)
	eg.Go(func() error { return serveUntilClosed(httpSrv, httpLn) })
	eg.Go(func() error { return serveUntilClosed(sockSrv, sockLn) })
	if gc != nil {
		eg.Go(func() error { gc(egctx); return nil })
	}
	eg.Go(func() error {
		<-egctx.Done()
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		logger.Info("shutting down")
		sockSrv.Shutdown(shutCtx)
		if err := httpSrv.Shutdown(shutCtx); errors.Is(err, context.DeadlineExceeded) {
			logger.Warn("closing connections of requests still running after the grace period")
			httpSrv.Close()
			sockSrv.Close()
		} else if err != nil {
			return err
		}
		return nil
	})
	return eg.Wait()
}

// shutdownGrace is how long requests in flight get to finish on SIGTERM.
const shutdownGrace = 5 * time.Second

func serveUntilClosed(s *http.Server, ln net.Listener) error {
	if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// listenSocket opens the admin unix socket with mode 0600. A stale socket
// left by a crash is removed; a live one means another server runs here.
func listenSocket(path string) (net.Listener, error) {
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

func closeWith(what string, logger *slog.Logger, closeFn func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := closeFn(ctx); err != nil {
		logger.Error("close "+what, "err", err)
	}
}
