// Package node is ninja's embedded IPFS node: the block store, UnixFS import
// with Kubo-identical CIDs, CAR import and export, a libp2p host with bitswap
// and the Amino DHT, the read-only gateway handler, pin-by-CID fetching and GC.
//
// It is the only package of ninja that imports boxo and go-libp2p; callers
// see only this package's types, io interfaces, net/http and go-cid.
//
// Decisions worth knowing:
//
//   - Blocks live in flatfs under DataDir/blocks (Kubo's layout, fsync per
//     file), chosen over pebble by measurement; see defaultStoreKind.
//   - An Import hashes in the caller's goroutine and writes 8 MiB batches in
//     a background goroutine, and nothing is durable until Import.Commit
//     returns. What imports buffer is bounded per import (32 MiB) and in
//     sum (Config.BufferBudget, 192 MiB): imports wait for buffer space
//     rather than allocate; see budget.go.
//   - The gateway, ExportCAR and DagSize read only local blocks; only Fetch
//     and FetchDAG use the network.
//   - No request costs more than its bounds (Limits): path depth and
//     length, entries per upload, roots per CAR, DAG depth and blocks per
//     walk, block reads per gateway response; tar responses are refused.
//     Past a bound the call fails with ErrLimit and commits nothing.
//   - DAG walks are iterative (walk.go), so a DAG as deep as the limit is
//     walked, exported and served whole, in memory linear in its depth.
//   - The node dials no loopback, private or metadata address unless
//     Config.AllowPrivatePeers; see addrGater and ValidateOrigins.
//   - GC is mark-and-sweep from the caller's live roots plus the roots of
//     imports committed in the last hour; see GCFunc for the protocol.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/boxo/bitswap"
	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/exchange/offline"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/prometheus/client_golang/prometheus"
)

// Sentinel errors returned (wrapped) by this package.
var (
	// ErrInvalidCAR means a CAR stream was malformed or one of its blocks did
	// not hash to its CID; nothing from that CAR was committed.
	ErrInvalidCAR = errors.New("invalid car")
	// ErrBadPath means a directory entry path was absolute, empty, had an
	// empty segment or a "." / ".." segment, or collided with another entry.
	ErrBadPath = errors.New("bad path")
	// ErrUnknownProfile means an import profile name is not one of the Profile constants.
	ErrUnknownProfile = errors.New("unknown import profile")
	// ErrClosed means the node (or an import session) was already closed.
	ErrClosed = errors.New("node closed")
	// ErrNoNetwork means a network operation on a node opened with
	// Config.NoNetwork.
	ErrNoNetwork = errors.New("node runs without a network")
	// ErrLimit means a request went past one of the node's Limits (or a
	// fetch past its byte cap); the wrapping message names the limit.
	// Nothing the refused call was building is committed.
	ErrLimit = errors.New("limit exceeded")
	// ErrBadDAG means a block of a DAG being walked (LocalDAG, DagSize,
	// FetchDAG, ExportCAR) does not decode with the codec its CID names,
	// or names a codec the node does not know: its links cannot be
	// followed, so the DAG cannot be checked, served or exported whole.
	ErrBadDAG = errors.New("malformed dag")
	// ErrBadOrigin means a pin origin is not a multiaddr ending in
	// /p2p/<peer id>, is one of too many, or is an address the node will
	// not dial (then the error wraps ErrAddrNotAllowed too).
	ErrBadOrigin = errors.New("bad origin")
	// ErrAddrNotAllowed means an address is loopback, private, link-local,
	// carrier-grade NAT, multicast, unspecified, reserved or cloud
	// metadata, or a name for this host, and Config.AllowPrivatePeers is
	// off. See ValidateOrigins.
	ErrAddrNotAllowed = errors.New("address not allowed")
	// ErrCorrupt means a block's bytes do not hash to its CID (CopyBlocks
	// found one in the block store).
	ErrCorrupt = errors.New("corrupt block")
)

// Config configures New.
type Config struct {
	// DataDir holds blocks/, the block store.
	DataDir string
	// ListenAddrs are libp2p listen multiaddrs; empty means
	// "/ip4/0.0.0.0/tcp/4001" and "/ip4/0.0.0.0/udp/4001/quic-v1".
	ListenAddrs []string
	// Offline disables the DHT and bootstrap dialing; bitswap still serves
	// peers that connect to us.
	Offline bool
	// Bootstrap lists bootstrap peer multiaddrs (with /p2p/); may be empty.
	Bootstrap []string
	// Identity is the libp2p private key (crypto.MarshalPrivateKey bytes,
	// see NewIdentity); nil means an ephemeral one. The wiring (package
	// app) keeps the data directory's identity.key.
	Identity []byte
	// AllowPrivatePeers lets the node dial loopback, private, link-local
	// and other non-public addresses (origins, bitswap and DHT peers,
	// bootstrap peers alike). Off by default, so that a pin's origins
	// cannot make a public server reach into its own network (SSRF); tests
	// on 127.0.0.1 and private clusters turn it on.
	AllowPrivatePeers bool
	// NoNetwork opens the block store without libp2p: no host, no
	// bitswap, no DHT. Offline commands (gc, export, backup) and import
	// tests use it; PeerID and Addrs are then empty and FetchDAG fails
	// with ErrNoNetwork.
	NoNetwork bool
	// ReprovideInterval is how often every root that Roots yields is
	// announced to the DHT again, when online; zero means never.
	ReprovideInterval time.Duration
	// Roots yields the pinned roots to reprovide (the store's pin records);
	// nil means none.
	Roots func(ctx context.Context, yield func(cid.Cid) error) error
	// Logger receives the node's logs; nil means slog.Default().
	Logger *slog.Logger
	// Limits bounds the work of one import, DAG walk or gateway response;
	// zero fields mean the defaults documented on Limits.
	Limits Limits
	// GatewayTimeout bounds how long one gateway response may take; zero
	// means 30 minutes. See Gateway.
	GatewayTimeout time.Duration
	// GatewayDomains makes the gateway a subdomain gateway for each of
	// these hosts ("example.com", or "localhost:8080" with a port): it
	// serves {cid}.ipfs.{domain} in an origin of its own and redirects
	// {domain}/ipfs/{cid} there. Empty means a path gateway only. See
	// Gateway.
	GatewayDomains []string
	// NameRecords gives the gateway the IPNS records held here:
	// /ipns/{name} and {name}.ipns.{domain} resolve those names only, and
	// ?format=ipns-record returns them. Nil means no name resolves.
	NameRecords NameRecords
	// DNSLinkDomains are the domains whose _dnslink TXT record the gateway
	// follows, for /ipns/{domain} and for requests whose Host is the
	// domain; no other name is ever looked up in DNS. DNSResolver is the
	// DNS server to ask (host:port); "" means the system's resolver.
	DNSLinkDomains []string
	DNSResolver    string
	// BufferBudget bounds the bytes all imports together hold in memory
	// (chunks being read, blocks buffered or being written); an import
	// that finds it spent waits. Zero means 192 MiB: a lone import still
	// gets its full 32 MiB, and 128 concurrent ones share 192 MiB instead
	// of holding up to 4 GiB. Less than 4 MiB means 4 MiB, one import's
	// minimum. See budget.go.
	BufferBudget int64

	// storeKind selects the block store backend; zero means the measured
	// default. Unexported: only the benchmarks compare backends.
	storeKind storeKind
}

// Node is a running IPFS node. All methods are safe for concurrent use.
type Node struct {
	log          *slog.Logger
	limits       Limits        // cfg.Limits with defaults
	allowPrivate bool          // cfg.AllowPrivatePeers
	budget       *bufferBudget // import buffers, shared by every Import

	ds     ds.Batching           // the raw block datastore (flatfs or pebble)
	rawBS  blockstore.Blockstore // ds behind NewBlockstoreNoPrefix + NewIdStore; GC's sweep only
	bstore blockstore.Blockstore // rawBS recording uses in touched; everything else's
	// touched records block uses while a GC sweeps; see GCFunc.
	touched touchSet
	// gcRun lets one GC run at a time: the sweep runs mostly outside gcMu.
	gcRun sync.Mutex
	// afterSweepBatch, when set (by tests), runs after each sweep batch,
	// outside the GC lock.
	afterSweepBatch func()
	// localBS is a block service that never touches the network: the
	// gateway, exports and DAG walks use it so that a missing block is an
	// immediate not-found, never a bitswap want.
	localBS blockservice.BlockService

	gateway        *gatewayBackend      // boxo's, over the local blocks, with the node's bounds
	gatewayHandler http.Handler         // built once by setupGateway
	metrics        *prometheus.Registry // the gateway's collectors, this node's own

	host    host.Host    // nil with NoNetwork
	dht     *dht.IpfsDHT // nil when offline
	bitswap *bitswap.Bitswap
	routing *provider                    // announces and reprovides pinned roots; see routing.go
	remote  atomic.Pointer[RemoteSource] // the gateway's remote reads; see remote.go

	blocksDir string // for Check and FreeBytes
	noNetwork bool

	// gcMu makes GC safe against concurrent writes: imports and fetches
	// hold it shared, GC holds it exclusively while it marks and while it
	// deletes each sweep batch. See GCFunc.
	gcMu sync.RWMutex
	// recent holds roots of committed imports that GC keeps for
	// recentRootsGrace even without a pin; keyed by CID bytes.
	// writers are the open import sessions; GC keeps the blocks they have
	// written (see Import).
	writersMu    sync.Mutex
	writers      map[*batchWriter]struct{}
	recentMu     sync.Mutex
	recent       map[string]recentRoot
	recentPruned time.Time
	now          func() time.Time // injectable clock for the grace period
	// holds are the roots backups keep from GC while they copy; see
	// HoldRoots.
	holds holdSet

	closeOnce sync.Once
	closeErr  error
	cancel    context.CancelFunc
}

// New opens the block store under cfg.DataDir, loads or creates the
// identity, and starts the libp2p host, the bitswap server and client and,
// unless cfg.Offline, the DHT. Background work lives until Close.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("node: empty DataDir")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	n := &Node{
		log:          cfg.Logger.With("component", "node"),
		limits:       cfg.Limits.withDefaults(),
		allowPrivate: cfg.AllowPrivatePeers,
		budget:       newBufferBudget(cfg.BufferBudget),
		recent:       make(map[string]recentRoot),
		writers:      make(map[*batchWriter]struct{}),
		now:          time.Now,
		blocksDir:    blocksDirOf(cfg.DataDir),
		noNetwork:    cfg.NoNetwork,
	}
	// The node's background work (bitswap, DHT) must outlive the caller's
	// start-up ctx, so it gets its own context cancelled by Close.
	bgctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.cancel = cancel

	var err error
	if n.ds, err = openDatastore(cfg.DataDir, cfg.storeKind); err != nil {
		cancel()
		return nil, fmt.Errorf("node: %w", err)
	}
	n.rawBS = blockstore.NewIdStore(blockstore.NewBlockstore(n.ds, blockstore.NoPrefix()))
	n.bstore = touchingBlockstore{Blockstore: n.rawBS, t: &n.touched}
	n.localBS = blockservice.New(n.bstore, offline.Exchange(n.bstore))
	if err := n.setupGateway(cfg); err != nil {
		_ = n.Close(ctx)
		return nil, fmt.Errorf("node: %w", err)
	}

	if cfg.NoNetwork {
		n.log.Debug("node opened without a network", "dir", cfg.DataDir)
		return n, nil
	}
	if err := n.startNetwork(bgctx, cfg); err != nil {
		_ = n.Close(ctx)
		return nil, fmt.Errorf("node: %w", err)
	}
	n.routing = startProvider(bgctx, n, cfg.ReprovideInterval, cfg.Roots)
	n.log.Info("node started", "peer", n.PeerID(), "addrs", n.Addrs(), "offline", cfg.Offline)
	return n, nil
}

// Close stops the node in reverse order of construction: the provider,
// bitswap, DHT, host, then the block store (which is synced before it is
// closed).
func (n *Node) Close(ctx context.Context) error {
	n.closeOnce.Do(func() {
		var errs []error
		if n.routing != nil {
			errs = append(errs, n.routing.close(ctx))
		}
		if n.bitswap != nil {
			errs = append(errs, n.bitswap.Close())
		}
		if n.dht != nil {
			errs = append(errs, n.dht.Close())
		}
		if n.host != nil {
			errs = append(errs, n.host.Close())
		}
		n.cancel()
		if n.ds != nil {
			errs = append(errs, n.ds.Sync(ctx, ds.NewKey("/")), n.ds.Close())
		}
		if err := errors.Join(errs...); err != nil {
			n.closeErr = fmt.Errorf("close node: %w", err)
		}
	})
	return n.closeErr
}
