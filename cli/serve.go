package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/cluster"
	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/pinning"
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
	configPath     string
	httpAddr       string
	metricsAddr    string
	p2p            []string
	publicURL      string
	gatewayDomains []string
	dnslinkDomains []string
	dnsResolver    string
	offline        bool
	bootstrap      []string
	maxUpload      string
	minFreeSpace   string
	trustedProxies []string
	corsOrigins    []string
	logLevel       string
	logFormat      string
	accessLog      bool
	acceptEmptyDB  bool
	allowPrivate   bool

	uploadRate, mintRate, authFailRate float64
	quotaStorage, quotaFetch           string
	quotaPins, quotaQueued             int64
	eventRetention, tokenGrace         time.Duration
	maxConnsPerIP, maxFiles            int
	bodyIdle                           time.Duration
	bodyMinRate                        int64

	tusExpiry time.Duration

	pinTimeout        time.Duration
	pinConcurrency    int
	pinPerAccount     int
	gcInterval        time.Duration
	shutdownTimeout   time.Duration
	reprovideInterval time.Duration

	clusterAPI, clusterUser, clusterPassword, clusterToken string
	replMin, replMax, ackReplicas                          int
	ackTimeout, reconcileInterval                          time.Duration
	localRetention, localCacheSize                         string

	tls tlsFlags
}

func newServeCmd(g *globalFlags) *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the pinning service (HTTP API, gateway and IPFS node)",
		Long: `Run the pinning service. The first start creates the data directory, a libp2p
identity, the database and the block store, and prints a one-time admin API key.

Every flag can also be set with its environment variable (shown with the flag)
and in the --config file under its own name; a flag given on the command line
wins over the environment, which wins over the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd, f.configPath); err != nil {
				return err
			}
			if err := f.resolveAddrs(cmd.Flags().Changed("http")); err != nil {
				return err
			}
			f.bootstrap = f.bootstrapPeers(cmd.Flags().Changed("bootstrap"))
			return serve(cmd.Context(), g, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// register defines the serve flags on fl, each with its environment
// variable. `ninja serve` and `ninja config show` share them.
func (f *serveFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.httpAddr, "http", "127.0.0.1:8080", "HTTP listen address (NINJA_HTTP)")
	fl.StringVar(&f.metricsAddr, "metrics", "", "serve Prometheus metrics on this address without a credential, e.g. 127.0.0.1:9090 (NINJA_METRICS); default: GET /metrics on --http with scope metrics")
	fl.StringSliceVar(&f.p2p, "p2p", []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"}, "libp2p listen multiaddrs, comma-separated (NINJA_P2P)")
	fl.StringVar(&f.publicURL, "public-url", "", "public base URL of the gateway, used in uris.url (NINJA_PUBLIC_URL); default: the request's host")
	fl.StringSliceVar(&f.gatewayDomains, "gateway-domains", nil, "serve a subdomain gateway on these domains, comma-separated: {cid}.ipfs.DOMAIN in its own origin, DOMAIN/ipfs/{cid} redirected there, uris.url in that form; needs a wildcard DNS record *.ipfs.DOMAIN (NINJA_GATEWAY_DOMAINS); default: a path gateway only")
	fl.StringSliceVar(&f.dnslinkDomains, "dnslink-domains", nil, "serve these domains' DNSLink (the _dnslink.DOMAIN TXT record, content stored here only), comma-separated: requests with Host DOMAIN and /ipns/DOMAIN; no other name is looked up in DNS (NINJA_DNSLINK_DOMAINS)")
	fl.StringVar(&f.dnsResolver, "dns-resolver", "", "DNS server (host:port) DNSLink records are asked of (NINJA_DNS_RESOLVER); default: the system's resolver")
	fl.BoolVar(&f.offline, "offline", false, "no DHT and no bootstrap (NINJA_OFFLINE)")
	fl.StringSliceVar(&f.bootstrap, "bootstrap", nil, "bootstrap peer multiaddrs, comma-separated; empty for none (NINJA_BOOTSTRAP); default: the public IPFS bootstrap list")
	fl.StringVar(&f.maxUpload, "max-upload", "32GiB", "largest accepted upload (NINJA_MAX_UPLOAD)")
	fl.StringVar(&f.minFreeSpace, "min-free-space", "0", "refuse uploads and pin requests (507) while the block store's disk has less free space, e.g. 1GiB; 0 no floor (NINJA_MIN_FREE_SPACE)")
	fl.StringSliceVar(&f.trustedProxies, "trusted-proxies", nil, "CIDRs of reverse proxies whose X-Forwarded-For is believed (NINJA_TRUSTED_PROXIES)")
	fl.StringSliceVar(&f.corsOrigins, "cors-origins", []string{"*"}, "origins browsers may upload from, comma-separated, or * (NINJA_CORS_ORIGINS)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error (NINJA_LOG_LEVEL)")
	fl.StringVar(&f.logFormat, "log-format", "text", "text or json (NINJA_LOG_FORMAT)")
	fl.BoolVar(&f.accessLog, "access-log", true, "log one line per request at info (NINJA_ACCESS_LOG)")
	fl.BoolVar(&f.allowPrivate, "allow-private-peers", false, "let pin origins and every peer the node dials be loopback, private or link-local addresses (private clusters, tests); off, such dials are refused (NINJA_ALLOW_PRIVATE_PEERS)")
	fl.BoolVar(&f.acceptEmptyDB, "accept-empty-database", false, "start a new, empty database even though the block store holds blocks (after ninja.db was lost)")
	def := pinning.DefaultRateLimits()
	fl.Float64Var(&f.uploadRate, "upload-rate", def.UploadsPerCredential.PerSecond, "uploads per second per credential and per client address (bursts of 5x); 0 no limit (NINJA_UPLOAD_RATE)")
	fl.Float64Var(&f.mintRate, "mint-rate", def.MintsPerKey.PerSecond, "upload tokens and access JWTs issued per second per API key (bursts of 10x); 0 no limit (NINJA_MINT_RATE)")
	fl.Float64Var(&f.authFailRate, "auth-failure-rate", def.AuthFailuresPerAddress.PerSecond, "failed authentications per second per client address before it is refused (bursts of 10x); 0 no limit (NINJA_AUTH_FAILURE_RATE)")
	fl.IntVar(&f.maxFiles, "max-files", 10000, "files (parts) one upload may have (NINJA_MAX_FILES)")
	fl.IntVar(&f.maxConnsPerIP, "max-conns-per-ip", 256, "HTTP connections open at once from one client address (trusted proxies exempt); 0 no cap (NINJA_MAX_CONNS_PER_IP)")
	fl.DurationVar(&f.bodyIdle, "body-idle-timeout", time.Minute, "fail a request whose body sends nothing for this long (NINJA_BODY_IDLE_TIMEOUT)")
	fl.Int64Var(&f.bodyMinRate, "body-min-rate", 1024, "fail a request whose body averages fewer bytes per second over a minute (NINJA_BODY_MIN_RATE)")
	fl.StringVar(&f.quotaStorage, "quota-storage", "", `default bytes one account may store, each CID once, e.g. "100GiB"; "" no limit (NINJA_QUOTA_STORAGE)`)
	fl.Int64Var(&f.quotaPins, "quota-pins", 0, "default pin records one account may hold; 0 no limit (NINJA_QUOTA_PINS)")
	fl.Int64Var(&f.quotaQueued, "quota-queued", 0, "default pin-by-CID requests one account may have queued at once; 0 no limit (NINJA_QUOTA_QUEUED)")
	fl.StringVar(&f.quotaFetch, "quota-fetch", "", `default bytes one pin-by-CID fetch may pull, e.g. "10GiB"; "" no limit (NINJA_QUOTA_FETCH)`)
	fl.DurationVar(&f.eventRetention, "event-retention", 7*24*time.Hour, "how long raw analytics events are kept (daily roll-ups are kept for ever) (NINJA_EVENT_RETENTION)")
	fl.DurationVar(&f.tokenGrace, "token-grace", 7*24*time.Hour, "how long an expired upload token is kept, shown as expired, before it is deleted (NINJA_TOKEN_GRACE)")
	fl.DurationVar(&f.pinTimeout, "pin-timeout", 10*time.Minute, "how long a pin-by-CID request may fetch before it fails (NINJA_PIN_TIMEOUT)")
	fl.IntVar(&f.pinConcurrency, "pin-concurrency", 8, "pin-by-CID fetches in flight across all accounts (NINJA_PIN_CONCURRENCY)")
	fl.IntVar(&f.pinPerAccount, "pin-concurrency-per-account", 2, "pin-by-CID fetches in flight per account (NINJA_PIN_CONCURRENCY_PER_ACCOUNT)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long requests in flight may finish before they are cancelled (NINJA_SHUTDOWN_TIMEOUT)")
	fl.DurationVar(&f.gcInterval, "gc-interval", 0, "run garbage collection this often, e.g. 24h; 0 never (NINJA_GC_INTERVAL)")
	fl.DurationVar(&f.reprovideInterval, "reprovide-interval", 22*time.Hour, "announce pinned roots to the DHT this often when online; 0 never (NINJA_REPROVIDE_INTERVAL)")
	f.registerTLS(fl)
	fl.StringVar(&f.configPath, "config", "", "read settings from this TOML file: every serve flag by its name (NINJA_CONFIG); a flag or environment variable wins over the file")
	// Resumable (tus) uploads.
	fl.DurationVar(&f.tusExpiry, "tus-expiry", 24*time.Hour, "how long an incomplete resumable (tus) upload is kept before it and its bytes are deleted (NINJA_TUS_EXPIRY)")
	bindEnv(fl, "tus-expiry", "NINJA_TUS_EXPIRY")
	// Replication to an IPFS Cluster (docs/scale-out.md).
	fl.StringVar(&f.clusterAPI, "cluster-api", "", "replicate every pin to the IPFS Cluster whose REST API is at this URL, e.g. http://127.0.0.1:9094; empty: no Cluster (NINJA_CLUSTER_API)")
	fl.StringVar(&f.clusterUser, "cluster-user", "", "the Cluster REST API's basic-auth user (NINJA_CLUSTER_USER)")
	fl.StringVar(&f.clusterPassword, "cluster-password", "", "the Cluster REST API's basic-auth password (NINJA_CLUSTER_PASSWORD)")
	fl.StringVar(&f.clusterToken, "cluster-token", "", "a bearer token for the Cluster REST API, instead of basic auth (NINJA_CLUSTER_TOKEN)")
	fl.IntVar(&f.replMin, "replication-min", 0, "Cluster peers that must hold each pin; 0 the Cluster's default (NINJA_REPLICATION_MIN)")
	fl.IntVar(&f.replMax, "replication-max", 0, "Cluster peers that may hold each pin; 0 the Cluster's default (NINJA_REPLICATION_MAX)")
	fl.IntVar(&f.ackReplicas, "ack-replicas", 0, "an upload answers only once this many Cluster peers report it pinned (else 504 REPLICATION_TIMEOUT after --ack-timeout; the pin stays); 0 does not wait (NINJA_ACK_REPLICAS)")
	fl.DurationVar(&f.ackTimeout, "ack-timeout", 2*time.Minute, "how long an upload waits for --ack-replicas (NINJA_ACK_TIMEOUT)")
	fl.DurationVar(&f.reconcileInterval, "cluster-reconcile-interval", 5*time.Minute, "compare ninja's pins with the Cluster's pin set and repair both this often (NINJA_CLUSTER_RECONCILE_INTERVAL)")
	fl.StringVar(&f.localRetention, "local-retention", "", `once a CID is pinned on --replication-min Cluster peers for this long (e.g. "720h", "0"), GC may drop its local blocks and reads fetch them back from the Cluster; "" keeps every block (NINJA_LOCAL_RETENTION)`)
	fl.StringVar(&f.localCacheSize, "local-cache-size", "1GiB", "bytes of blocks fetched back from the Cluster kept locally (with --local-retention) (NINJA_LOCAL_CACHE_SIZE)")
	for flag, env := range map[string]string{
		"cluster-api": "NINJA_CLUSTER_API", "cluster-user": "NINJA_CLUSTER_USER", "cluster-password": "NINJA_CLUSTER_PASSWORD", "cluster-token": "NINJA_CLUSTER_TOKEN",
		"replication-min": "NINJA_REPLICATION_MIN", "replication-max": "NINJA_REPLICATION_MAX", "ack-replicas": "NINJA_ACK_REPLICAS", "ack-timeout": "NINJA_ACK_TIMEOUT",
		"cluster-reconcile-interval": "NINJA_CLUSTER_RECONCILE_INTERVAL", "local-retention": "NINJA_LOCAL_RETENTION", "local-cache-size": "NINJA_LOCAL_CACHE_SIZE",
	} {
		bindEnv(fl, flag, env)
	}
	for flag, env := range map[string]string{
		"config": "NINJA_CONFIG", "http": "NINJA_HTTP", "metrics": "NINJA_METRICS", "p2p": "NINJA_P2P", "public-url": "NINJA_PUBLIC_URL", "gateway-domains": "NINJA_GATEWAY_DOMAINS", "dnslink-domains": "NINJA_DNSLINK_DOMAINS", "dns-resolver": "NINJA_DNS_RESOLVER", "offline": "NINJA_OFFLINE", "allow-private-peers": "NINJA_ALLOW_PRIVATE_PEERS",
		"bootstrap": "NINJA_BOOTSTRAP", "max-upload": "NINJA_MAX_UPLOAD", "min-free-space": "NINJA_MIN_FREE_SPACE", "trusted-proxies": "NINJA_TRUSTED_PROXIES",
		"cors-origins": "NINJA_CORS_ORIGINS", "log-level": "NINJA_LOG_LEVEL", "log-format": "NINJA_LOG_FORMAT", "access-log": "NINJA_ACCESS_LOG", "pin-timeout": "NINJA_PIN_TIMEOUT",
		"pin-concurrency": "NINJA_PIN_CONCURRENCY", "pin-concurrency-per-account": "NINJA_PIN_CONCURRENCY_PER_ACCOUNT",
		"gc-interval": "NINJA_GC_INTERVAL", "shutdown-timeout": "NINJA_SHUTDOWN_TIMEOUT", "reprovide-interval": "NINJA_REPROVIDE_INTERVAL",
		"quota-storage": "NINJA_QUOTA_STORAGE", "quota-pins": "NINJA_QUOTA_PINS", "quota-queued": "NINJA_QUOTA_QUEUED",
		"quota-fetch": "NINJA_QUOTA_FETCH", "event-retention": "NINJA_EVENT_RETENTION", "token-grace": "NINJA_TOKEN_GRACE",
		"max-files": "NINJA_MAX_FILES", "max-conns-per-ip": "NINJA_MAX_CONNS_PER_IP", "body-idle-timeout": "NINJA_BODY_IDLE_TIMEOUT", "body-min-rate": "NINJA_BODY_MIN_RATE",
		"upload-rate": "NINJA_UPLOAD_RATE", "mint-rate": "NINJA_MINT_RATE", "auth-failure-rate": "NINJA_AUTH_FAILURE_RATE",
	} {
		bindEnv(fl, flag, env)
	}
}

// bootstrapPeers is the bootstrap list: the one given (an empty one
// means none), else none offline, else the public list.
func (f *serveFlags) bootstrapPeers(given bool) []string {
	switch {
	case given:
		return f.bootstrap
	case f.offline:
		return nil
	}
	return defaultBootstrap()
}

// options turns the flags into the wiring's options.
func (f *serveFlags) options(dataDir string, logger *slog.Logger) (app.Options, error) {
	maxUpload, err := token.ParseSize(f.maxUpload)
	if err != nil {
		return app.Options{}, fmt.Errorf("--max-upload: %w", err)
	}
	quota, err := f.defaultQuota()
	if err != nil {
		return app.Options{}, err
	}
	var minFree int64
	if f.minFreeSpace != "" && f.minFreeSpace != "0" {
		if minFree, err = token.ParseSize(f.minFreeSpace); err != nil {
			return app.Options{}, fmt.Errorf("--min-free-space: %w", err)
		}
	}
	domains, err := parseGatewayDomains(f.gatewayDomains)
	if err != nil {
		return app.Options{}, err
	}
	dnslink, err := parseDNSLinkDomains(f.dnslinkDomains)
	if err != nil {
		return app.Options{}, err
	}
	if f.dnsResolver != "" {
		if _, _, err := net.SplitHostPort(f.dnsResolver); err != nil {
			return app.Options{}, fmt.Errorf("--dns-resolver: %q is not host:port", f.dnsResolver)
		}
	}
	var proxies []netip.Prefix
	if len(f.trustedProxies) > 0 {
		if proxies, err = token.ParseCIDRs(f.trustedProxies); err != nil {
			return app.Options{}, fmt.Errorf("--trusted-proxies: %w", err)
		}
	}
	clusterAPI, repl, err := f.cluster()
	if err != nil {
		return app.Options{}, err
	}
	return app.Options{
		ClusterAPI:          clusterAPI,
		Replication:         repl,
		DataDir:             dataDir,
		Create:              true,
		AcceptEmptyDatabase: f.acceptEmptyDB,
		Network:             true,
		Node: node.Config{
			ListenAddrs:       f.p2p,
			Offline:           f.offline,
			Bootstrap:         f.bootstrap,
			ReprovideInterval: f.reprovideInterval,
			AllowPrivatePeers: f.allowPrivate,
			DNSResolver:       f.dnsResolver,
		},
		Fetch:             pinning.FetchConfig{Timeout: f.pinTimeout, MaxConcurrent: f.pinConcurrency, MaxPerAccount: f.pinPerAccount},
		Store:             store.Options{DefaultQuota: quota, EventRetention: f.eventRetention, TokenGrace: f.tokenGrace},
		MaxUploadBytes:    maxUpload,
		MinFreeBytes:      minFree,
		MaxFilesPerUpload: f.maxFiles,
		RateLimits:        f.rateLimits(),
		Resumable:         pinning.ResumableConfig{TTL: f.tusExpiry},
		GatewayDomains:    domains,
		DNSLinkDomains:    dnslink,
		Server: server.Config{
			PublicURL:       f.publicURL,
			HTTPS:           f.tls.on(),
			TrustedProxies:  proxies,
			CORSOrigins:     f.corsOrigins,
			AccessLog:       f.accessLog,
			Version:         Version().Version,
			BodyIdleTimeout: nonZeroOr(f.bodyIdle, -1),
			BodyMinRate:     nonZeroOr(f.bodyMinRate, -1),
		},
		Logger: logger,
	}, nil
}

// parseDNSLinkDomains checks --dnslink-domains: each a DNS name, no port
// (a DNSLink record is a name's), lower case, without a trailing dot.
func parseDNSLinkDomains(ds []string) ([]string, error) {
	var out []string
	for _, d := range ds {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" {
			continue
		}
		if net.ParseIP(d) != nil || strings.ContainsAny(d, ":/ ") || !strings.Contains(d, ".") {
			return nil, fmt.Errorf("--dnslink-domains: %q is not a domain name (give the bare host, e.g. example.com)", d)
		}
		out = append(out, d)
	}
	return out, nil
}

// parseGatewayDomains checks --gateway-domains: each a DNS name, maybe
// with a port (localhost:8080, for a local test), never a URL or an IP
// address (an IP has no subdomains); returned in lower case.
func parseGatewayDomains(ds []string) ([]string, error) {
	var out []string
	for _, d := range ds {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" {
			continue
		}
		host := d
		if h, port, err := net.SplitHostPort(d); err == nil {
			if _, err := strconv.ParseUint(port, 10, 16); err != nil {
				return nil, fmt.Errorf("--gateway-domains: %q: the port is not a number", d)
			}
			host = h
		}
		if net.ParseIP(host) != nil {
			return nil, fmt.Errorf("--gateway-domains: %q is an IP address, which has no subdomains: give a domain name", d)
		}
		for label := range strings.SplitSeq(host, ".") {
			if !dnsLabel(label) {
				return nil, fmt.Errorf("--gateway-domains: %q is not a domain name (give the bare host, e.g. example.com, without a scheme or path)", d)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// dnsLabel reports whether l is a DNS label: 1 to 63 letters, digits and
// hyphens, not starting or ending with a hyphen.
func dnsLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// cluster is the Cluster replication the flags ask for.
func (f *serveFlags) cluster() (cluster.Config, pinning.ClusterConfig, error) {
	c := cluster.Config{API: f.clusterAPI, Username: f.clusterUser, Password: f.clusterPassword, Token: f.clusterToken}
	r := pinning.ClusterConfig{ReplicationMin: f.replMin, ReplicationMax: f.replMax, AckReplicas: f.ackReplicas,
		AckTimeout: f.ackTimeout, ReconcileInterval: f.reconcileInterval}
	if f.clusterAPI == "" {
		for name, set := range map[string]bool{"ack-replicas": f.ackReplicas != 0, "local-retention": f.localRetention != "",
			"replication-min": f.replMin != 0, "replication-max": f.replMax != 0} {
			if set {
				return c, r, fmt.Errorf("--%s needs --cluster-api", name)
			}
		}
		return c, r, nil
	}
	if f.replMin < 0 || f.replMax < -1 || f.ackReplicas < 0 {
		return c, r, fmt.Errorf("--replication-min and --ack-replicas must not be negative (--replication-max -1 means every peer)")
	}
	if f.localRetention != "" {
		d, err := time.ParseDuration(f.localRetention)
		if f.localRetention == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			return c, r, fmt.Errorf("--local-retention: %q is not a duration like 720h", f.localRetention)
		}
		r.Evict, r.LocalRetention = true, d
	}
	if f.localCacheSize != "" {
		n, err := token.ParseSize(f.localCacheSize)
		if err != nil {
			return c, r, fmt.Errorf("--local-cache-size: %w", err)
		}
		r.LocalCacheBytes = n
	}
	if _, err := cluster.New(c); err != nil {
		return c, r, fmt.Errorf("--cluster-api: %w", err)
	}
	return c, r, nil
}

// defaultQuota is the quota of accounts without an override.
func (f *serveFlags) defaultQuota() (store.Quota, error) {
	q := store.Quota{MaxPins: f.quotaPins, MaxQueued: f.quotaQueued}
	for _, b := range []struct {
		flag, v string
		dst     *int64
	}{{"quota-storage", f.quotaStorage, &q.MaxStoredBytes}, {"quota-fetch", f.quotaFetch, &q.MaxFetchBytes}} {
		if b.v == "" {
			continue
		}
		n, err := token.ParseSize(b.v)
		if err != nil {
			return q, fmt.Errorf("--%s: %w", b.flag, err)
		}
		*b.dst = n
	}
	if q.MaxPins < 0 || q.MaxQueued < 0 {
		return q, fmt.Errorf("--quota-pins and --quota-queued must not be negative")
	}
	return q, nil
}

// nonZeroOr is v, or none when v is zero (0 on the command line means "no
// limit", which the server spells as a negative value).
func nonZeroOr[T int64 | time.Duration](v, none T) T {
	if v == 0 {
		return none
	}
	return v
}

// rateLimits are the limits the flags ask for: bursts of 5x the rate for
// uploads, 10x for issuance and failures.
func (f *serveFlags) rateLimits() pinning.RateLimits {
	burst := func(rate, x float64) int { return int(max(rate*x, 1)) }
	return pinning.RateLimits{
		UploadsPerCredential:   pinning.Rate{PerSecond: f.uploadRate, Burst: burst(f.uploadRate, 5)},
		UploadsPerAddress:      pinning.Rate{PerSecond: f.uploadRate, Burst: burst(f.uploadRate, 5)},
		MintsPerKey:            pinning.Rate{PerSecond: f.mintRate, Burst: burst(f.mintRate, 10)},
		AuthFailuresPerAddress: pinning.Rate{PerSecond: f.authFailRate, Burst: burst(f.authFailRate, 10)},
	}
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is neither text nor json", format)
}

// serve runs `ninja serve`: listen first (so a busy port fails before
// anything is created), open the data directory, mint the first admin key
// last (so it is printed whenever it was made), then serve until SIGINT or
// SIGTERM, and close in reverse order.
func serve(ctx context.Context, g *globalFlags, f *serveFlags, stdout, stderr io.Writer) error {
	logger, err := newLogger(f.logLevel, f.logFormat, stderr)
	if err != nil {
		return err
	}
	opts, err := f.options(g.dataDir, logger)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	lns, err := f.listen()
	if err != nil {
		return err
	}
	defer lns.close()
	a, err := app.Open(ctx, opts)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w: is another `ninja serve` running on %s?", err, g.dataDir)
	}
	if err != nil {
		return err
	}
	defer closeWith("data directory", logger, a.Close)
	sockLn, err := app.ListenSocket(a.Layout.Socket())
	if err != nil {
		return err
	}
	defer os.Remove(a.Layout.Socket())
	tlsSrc, err := f.tls.newTLS(ctx, a.Layout, lns, logger)
	if err != nil {
		return err
	}
	if tlsSrc != nil {
		defer closeWith("tls", logger, tlsSrc.Close)
	}

	adminKey, err := a.Service.FirstStart(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ninja %s\n", Version().Version)
	f.printAddrs(stdout, lns, logger)
	fmt.Fprintf(stdout, "peer id: %s\n", a.Node.PeerID())
	for _, addr := range a.Node.Addrs() {
		fmt.Fprintf(stdout, "libp2p: %s\n", addr)
	}
	if adminKey != "" {
		fmt.Fprintf(stdout, "admin API key (shown once, store it now):\n%s\n", adminKey)
	}
	fmt.Fprintln(stdout, "ready")
	if lns.metrics != nil {
		fmt.Fprintf(stdout, "metrics: http://%s/metrics\n", lns.metrics.Addr())
	}
	return a.Serve(ctx, app.ServeOptions{HTTP: lns.http, HTTPS: lns.https, TLS: tlsSrc, Reload: onSIGHUP(ctx, tlsSrc != nil, logger),
		Socket: sockLn, Metrics: lns.metrics, GCInterval: f.gcInterval, ShutdownTimeout: f.shutdownTimeout,
		MaxConnsPerAddr: f.maxConnsPerIP, TrustedProxies: opts.Server.TrustedProxies, Logger: logger})
}

// onSIGHUP turns SIGHUP into reloads of the certificate files until ctx is
// done. SIGHUP is caught even without them (and logged), so that a
// service manager's reload never kills the server.
func onSIGHUP(ctx context.Context, files bool, log *slog.Logger) <-chan struct{} {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{})
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if !files {
					log.Info("SIGHUP: nothing to reload (no --tls-cert)")
					continue
				}
				select {
				case reload <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return reload
}

func closeWith(what string, logger *slog.Logger, closeFn func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := closeFn(ctx); err != nil {
		logger.Error("close "+what, "err", err)
	}
}
