// Package app is the wiring: the one place that knows every concrete
// type. Open opens a data directory's parts in order (store, node, domain,
// server) and Close closes them in reverse; `ninja serve`, the CLI's
// offline mode and every test harness use it.
package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/cluster"
	"github.com/ninja-ipfs/ninja/metrics"
	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/server"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// ErrNoDataDir means a client command found no data directory where it
// looked: `ninja serve` creates one on its first start.
var ErrNoDataDir = errors.New("no ninja database")

// ErrDatabaseMissing means the database is missing or empty beside a block
// store that holds blocks: starting anyway would create a new, empty
// database (and a new admin key), and GC would then delete every block.
var ErrDatabaseMissing = errors.New("the database is missing or empty but the block store holds blocks")

// Options configures Open.
type Options struct {
	DataDir string
	// Create makes a missing data directory, database and secrets (`ninja
	// serve`); without it a missing one is ErrNoDataDir, so a mistyped
	// --data never starts an empty server nor mints a lost admin key.
	Create bool
	// AcceptEmptyDatabase lets Create start a new database beside a block
	// store that holds blocks (see ErrDatabaseMissing): the operator's
	// explicit choice after losing ninja.db.
	AcceptEmptyDatabase bool
	// Network starts libp2p (bitswap, and the DHT unless Node.Offline);
	// without it the node is only a block store and pin-by-CID requests
	// stay queued for the next server.
	Network bool
	// Node configures the node (its DataDir, Identity, Roots and Logger
	// are set by Open).
	Node node.Config
	// Fetch configures the pin-by-CID workers (disabled without Network).
	Fetch pinning.FetchConfig
	// MaxUploadBytes caps one upload; 0 means 32 GiB.
	MaxUploadBytes int64
	// MaxFilesPerUpload caps the files of one upload; 0 means 10,000.
	MaxFilesPerUpload int
	// MinFreeBytes refuses uploads and pin requests (507) while the block
	// store's disk has less free space; 0 means no floor.
	MinFreeBytes int64
	// RateLimits bound uploads, issuance and failed authentications; the
	// zero value limits nothing.
	RateLimits pinning.RateLimits
	// Resumable configures resumable (tus) uploads, served with Create
	// only (its Dir is set by Open: the layout's tus/).
	Resumable pinning.ResumableConfig
	// GatewayDomains make the gateway a subdomain gateway on these hosts
	// (lower case, maybe with a port): Open gives them to both the node's
	// gateway, which serves them, and the server, which isolates them.
	GatewayDomains []string
	// ClusterAPI is the IPFS Cluster whose REST API every pin is
	// replicated to, with Replication's factors and waits; with an empty
	// ClusterAPI.API nothing Cluster-related is opened or started.
	ClusterAPI  cluster.Config
	Replication pinning.ClusterConfig
	// DNSLinkDomains are the domains whose _dnslink TXT records the
	// gateway follows (/ipns/{domain}, and requests whose Host is one):
	// Open gives them to the node, which resolves them (with
	// Node.DNSResolver), and to the server, which sends their hosts to
	// the gateway.
	DNSLinkDomains []string
	// Server configures the HTTP server (its Logger is set by Open).
	Server server.Config
	// Store configures the database (its Logger is set by Open).
	Store store.Options
	// Now is the clock of the domain; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// App is an open data directory.
type App struct {
	Layout  Layout
	Store   *store.Store
	Node    *node.Node
	Service *pinning.Service
	Server  *server.Server
	Metrics *metrics.Metrics
	Hasher  *token.Hasher
	Signer  *token.Signer
	Cluster *cluster.Client // nil without --cluster-api

	version string // reported in backups' manifests

	closers []func(context.Context) error // in order of opening
}

// Open opens the data directory's parts in order. On error, whatever was
// opened is closed again.
func Open(ctx context.Context, opts Options) (_ *App, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &App{Layout: Layout{Dir: opts.DataDir}, version: opts.Server.Version}
	defer func() {
		if err != nil {
			a.Close(context.WithoutCancel(ctx))
		}
	}()
	if err := a.checkDir(opts); err != nil {
		return nil, err
	}
	if err := a.openSecrets(opts.Create); err != nil {
		return nil, err
	}
	so := opts.Store
	so.Logger = opts.Logger
	repl := opts.Replication
	repl.Client = nil
	if opts.ClusterAPI.API != "" && opts.Create { // a server; the CLI's offline commands leave it to the reconciler
		c, err := cluster.New(opts.ClusterAPI)
		if err != nil {
			return nil, err
		}
		a.Cluster = c
		a.closers = append(a.closers, c.Close)
		repl.Client = c
		so.ClusterOutbox = true
	}
	// A database that must exist (a client command's, or one beside a
	// block store that holds blocks) is never created empty by the store.
	so.MustExist = so.MustExist || !opts.Create || (a.Layout.hasBlocks() && !opts.AcceptEmptyDatabase)
	if a.Store, err = store.Open(a.Layout.DB(), so); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.Store.Close)
	if err := a.openNode(ctx, opts); err != nil {
		return nil, err
	}
	fetch := opts.Fetch
	fetch.Disabled = fetch.Disabled || !opts.Network
	a.Metrics = metrics.New()
	resumable := pinning.ResumableConfig{}
	if opts.Create { // a server; the CLI's offline commands take no uploads
		resumable = opts.Resumable
		resumable.Dir = a.Layout.Tus()
	}
	a.Service, err = pinning.New(pinning.Config{
		Store: a.Store, Node: a.Node, Hasher: a.Hasher, Signer: a.Signer,
		MaxUploadBytes: opts.MaxUploadBytes, MaxFilesPerUpload: opts.MaxFilesPerUpload, Fetch: fetch,
		RateLimits: opts.RateLimits, MinFreeBytes: opts.MinFreeBytes, Resumable: resumable, Cluster: repl, Observer: a.Metrics, Now: opts.Now, Logger: opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.Service.Close)
	a.registerGauges()
	sc := opts.Server
	sc.Logger = opts.Logger
	sc.GatewayDomains = opts.GatewayDomains
	sc.DNSLinkDomains = opts.DNSLinkDomains
	if opts.Create {
		if err := resetDir(a.Layout.Tmp()); err != nil {
			return nil, err
		}
		sc.SpoolDir = a.Layout.Tmp()
	}
	a.Server = server.New(sc, server.Deps{Service: a.Service, Gateway: a.Node.Gateway(), Routing: a.Node.RoutingHandler(a.Service),
		Metrics: a.Metrics.Handler(), Observer: a.Metrics, Backup: a})
	return a, nil
}

// registerGauges exports the state read at scrape time: the pin queue, the
// node's peers, the free space and readiness.
func (a *App) registerGauges() {
	m, svc, n := a.Metrics, a.Service, a.Node
	m.GaugeVec("ninja_pin_queue", "Pin-by-CID requests waiting (queued) and fetching (running).", "state", func() map[string]float64 {
		q, r := svc.QueueStats()
		return map[string]float64{"queued": float64(q), "running": float64(r)}
	})
	m.Gauge("ninja_libp2p_peers", "Connected libp2p peers.", func() float64 { return float64(len(n.Peers())) })
	m.Gauge("ninja_blockstore_bytes", "Bytes of stored blocks.", func() float64 {
		return float64(n.Stats(context.Background()).BlockStoreBytes)
	})
	m.Counter("ninja_bitswap_blocks_sent_total", "Blocks bitswap served to peers.", func() float64 {
		return float64(n.Stats(context.Background()).BitswapBlocksSent)
	})
	m.Counter("ninja_bitswap_bytes_sent_total", "Bytes bitswap served to peers.", func() float64 {
		return float64(n.Stats(context.Background()).BitswapBytesSent)
	})
	if a.Cluster != nil {
		m.Gauge("ninja_cluster_outbox", "Cluster pin and unpin operations waiting in the outbox.", func() float64 {
			n, _ := svc.ClusterStats()
			return float64(n)
		})
	}
	st := a.Store
	m.GaugeVec("ninja_pins", "Pin records by status, all accounts.", "status", func() map[string]float64 {
		u, err := st.AccountUsage("")
		if err != nil {
			return nil
		}
		return map[string]float64{"pinned": float64(u.Pinned), "queued_or_pinning": float64(u.Queued),
			"failed": float64(u.Pins - u.Pinned - u.Queued)}
	})
	m.Gauge("ninja_blockstore_free_bytes", "Free space on the block store's filesystem, for an unprivileged writer.", func() float64 {
		free, err := n.FreeBytes()
		if err != nil {
			return -1
		}
		return float64(free)
	})
	m.Gauge("ninja_ready", "1 while /readyz answers 200 (database, block store, node and pin worker usable), else 0.", func() float64 {
		if svc.Ready() != nil {
			return 0
		}
		return 1
	})
}

// checkDir refuses what would lose data: a client command on a missing
// data directory, or a new database beside an existing block store.
func (a *App) checkDir(opts Options) error {
	l := a.Layout
	if opts.DataDir == "" {
		return fmt.Errorf("%w: no data directory given", ErrNoDataDir)
	}
	exists, empty := l.dbState()
	if !opts.Create {
		if !exists {
			return fmt.Errorf("%w in %s (run `ninja serve --data %s` once, or point --data or NINJA_DATA at one)", ErrNoDataDir, opts.DataDir, opts.DataDir)
		}
		return nil
	}
	if empty && !opts.AcceptEmptyDatabase && l.hasBlocks() {
		what := "missing"
		if exists {
			what = "empty (0 bytes)"
		}
		return fmt.Errorf("%w: %s is %s while %s holds blocks; restore ninja.db from a backup, or start with --accept-empty-database to begin a new database (its GC will delete every block no new pin references)",
			ErrDatabaseMissing, l.DB(), what, l.Blocks())
	}
	return os.MkdirAll(opts.DataDir, 0o700)
}

// openSecrets loads (or, with create, makes) the hashing secret and the
// access-JWT signing key.
func (a *App) openSecrets(create bool) error {
	secret, err := secretFile(a.Layout.Secret(), create, randomBytes(32), atLeast(32))
	if err != nil {
		return fmt.Errorf("server secret: %w", err)
	}
	a.Hasher = token.NewHasher(secret)
	seed, err := secretFile(a.Layout.JWTKey(), create, randomBytes(ed25519.SeedSize), exactly(ed25519.SeedSize))
	if err != nil {
		return fmt.Errorf("jwt key: %w", err)
	}
	a.Signer = token.NewSigner(ed25519.NewKeyFromSeed(seed))
	return nil
}

func (a *App) openNode(ctx context.Context, opts Options) error {
	nc := opts.Node
	nc.DataDir = opts.DataDir
	nc.Logger = opts.Logger
	nc.NoNetwork = !opts.Network
	nc.GatewayDomains = opts.GatewayDomains
	nc.DNSLinkDomains = opts.DNSLinkDomains
	// The service is opened after the node; the gateway asks it for
	// records only once requests arrive, when it is set.
	nc.NameRecords = func(ctx context.Context, name string) ([]byte, error) {
		if a.Service == nil {
			return nil, pinning.ErrNotFound
		}
		return a.Service.IPNSRecord(ctx, name)
	}
	if opts.Network {
		id, err := secretFile(a.Layout.Identity(), true, node.NewIdentity, node.ValidIdentity)
		if err != nil {
			return fmt.Errorf("libp2p identity: %w", err)
		}
		nc.Identity = id
	}
	st := a.Store
	nc.Roots = func(ctx context.Context, yield func(cid.Cid) error) error {
		return st.LiveCIDs(func(s string) error {
			if c, err := cid.Decode(s); err == nil {
				return yield(c)
			}
			return nil
		})
	}
	n, err := node.New(ctx, nc)
	if err != nil {
		return err
	}
	a.Node = n
	a.closers = append(a.closers, n.Close)
	return nil
}

// resetDir empties dir (what a crash left in transit) and makes it, 0700.
func resetDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("reset %s: %w", dir, err)
	}
	return os.MkdirAll(dir, 0o700)
}

// Close closes every part in reverse order of opening: the domain's
// workers, the node, the store.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i](ctx))
	}
	a.closers = nil
	return errors.Join(errs...)
}
