// Package pinning is ninja's domain core: everything a pinning service does,
// whichever API dialect asks for it. It owns
//
//   - credentials: resolving any presented credential to a token.Grant and
//     checking it (credentials.go), minting and revoking API keys, upload
//     tokens, upload-signing keys and access JWTs (mint.go);
//   - the upload session: reserve a use, import, commit the blocks, record
//     the pins and the use in one durable commit, release on failure, hand
//     the roots over to their pins for GC (upload.go), also for a file sent
//     over several requests and restarts (resumable uploads, tus.go);
//   - pins: list, get, update, delete (one delete, which always cancels a
//     fetch), pin by CID and its persistent queue and fetch workers
//     (pins.go, queue.go);
//   - groups of pins (groups.go), garbage collection (gc.go), accounts
//     (accounts.go) and analytics (analytics.go).
//
// It imports no net/http: server/ decodes a request, calls one operation
// here and encodes the answer, so two dialects never implement the same
// operation twice. The package declares the small interfaces it consumes
// (Store, Node); token is used directly, being pure logic.
//
// Errors wrap the sentinels in errors.go (and token's and node's own); the
// server maps them to HTTP in one place.
package pinning

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Store is what the domain needs from the record store (*store.Store).
type Store interface {
	Accounts() ([]store.Account, error)
	ListAccounts(p store.Page) ([]store.Account, string, error)
	Account(idOrName string) (store.Account, error)
	CreateAccount(name string) (store.Account, error)
	AccountUsage(accountID string) (store.Usage, error)
	Quota(accountID string) (effective, override store.Quota, err error)
	SetQuota(accountID string, q store.Quota) error

	CreateAPIKey(k store.APIKey) (store.APIKey, error)
	APIKeyByHash(hash []byte) (store.APIKey, error)
	APIKey(id string) (store.APIKey, error)
	APIKeys(accountID string) ([]store.APIKey, error)
	ListAPIKeys(accountID string, p store.Page) ([]store.APIKey, string, error)
	RevokeAPIKey(accountID, id string) (store.APIKey, error)

	CreateToken(t store.Token) (store.Token, error)
	TokenByHash(hash []byte) (store.Token, store.APIKey, error)
	Token(accountID, id string) (store.Token, error)
	ListTokens(accountID string, p store.Page) ([]store.Token, string, error)
	RevokeToken(accountID, id string) (store.Token, error)
	Reserve(tokenID string) (bool, error)
	Release(tokenID, reason string)
	RecordFailure(tokenID, reason string)
	Remaining(tokenID string) (int64, error)

	AddPins(pins []store.Pin, use *store.TokenUse) ([]store.Pin, error)
	AddQueuedPin(p store.Pin) (store.Pin, error)
	UpdateQueuedPin(id string, fn func(*store.Pin) error) (store.Pin, error)
	QueuedPins() ([]store.Pin, error)
	PinsByCID(accountID, cid string) ([]store.Pin, error)
	ListPins(accountID string, f store.PinFilter) ([]store.Pin, int, error)
	UpdatePin(accountID, id string, fn func(*store.Pin) error) (store.Pin, error)
	DeletePin(accountID, id string) (store.Pin, error)
	Pin(accountID, id string) (store.Pin, error)
	LiveRoots(ctx context.Context, fn func(cid string) error) error

	CreateGroup(g store.Group) (store.Group, error)
	Group(accountID, id string) (store.Group, error)
	ListGroups(accountID string, f store.GroupFilter) ([]store.Group, string, error)
	UpdateGroup(accountID, id string, fn func(*store.Group) error) (store.Group, error)
	DeleteGroup(accountID, id string) (store.Group, error)
	AddToGroup(accountID, groupID, pinID string) error
	RemoveFromGroup(accountID, groupID, pinID string) error
	PinGroups(pinIDs []string) (map[string][]string, error)

	CreateSigningKey(k store.SigningKey) (store.SigningKey, error)
	SigningKey(kid string) (store.SigningKey, store.APIKey, error)
	ListSigningKeys(accountID string, p store.Page) ([]store.SigningKey, string, error)
	RevokeSigningKey(accountID, kid string) (store.SigningKey, error)
	ConsumeJTI(issuer, jti string, expires time.Time) (bool, error)
	CreateAccessJWT(j store.AccessJWT) (store.AccessJWT, error)
	AccessJWT(jti string) (store.AccessJWT, store.APIKey, error)
	ListAccessJWTs(accountID string, p store.Page) ([]store.AccessJWT, string, error)
	RevokeAccessJWT(accountID, jti string) (store.AccessJWT, error)
	UseAccessJWT(jti string) (bool, error)

	RecordEvent(e store.Event)
	Rollup(accountID, prefix string, from, to time.Time) (store.Rollup, error)

	// Check reports whether the database is open and its file still the
	// one on disk (readiness).
	Check() error
	// Resumable uploads (tus.go).
	CreateTusUpload(u store.TusUpload) (store.TusUpload, error)
	TusUpload(id string) (store.TusUpload, error)
	DeleteTusUpload(id string) (store.TusUpload, error)
	CompleteTusUpload(id string, pins []store.Pin, use *store.TokenUse) ([]store.Pin, error)
	ExpiredTusUploads(before time.Time, limit int) ([]store.TusUpload, error)
	// IPNS names (names.go).
	CreateName(n store.Name) (store.Name, error)
	NameOf(accountID, labelOrName string) (store.Name, error)
	ListNames(accountID string, p store.Page) ([]store.Name, string, error)
	UpdateName(accountID, labelOrName string, fn func(*store.Name) error) (store.Name, error)
	DeleteName(accountID, labelOrName string) (store.Name, error)
	PublishedNames(after string, limit int) ([]store.Name, string, error)
}

// Node is what the domain needs from the embedded IPFS node (*node.Node).
type Node interface {
	NewImport(profile node.Profile) *node.Import
	Has(ctx context.Context, c cid.Cid) (bool, error)
	LocalDAG(ctx context.Context, c cid.Cid) (size uint64, complete bool, err error)
	FetchDAGLimit(ctx context.Context, c cid.Cid, origins []string, maxBytes int64) (uint64, error)
	ValidateOrigins(origins []string) error
	GCFunc(ctx context.Context, live node.Roots) (node.GCStats, error)
	ExportCAR(ctx context.Context, c cid.Cid, w io.Writer) error
	Announce(c cid.Cid)
	// SetRemoteSource lets the gateway read missing blocks of the roots
	// it allows from other peers (local retention, cluster.go).
	SetRemoteSource(rs node.RemoteSource)
	// Online reports whether the node has the DHT; PutRecord puts an IPNS
	// record to it (names.go).
	Online() bool
	PutRecord(ctx context.Context, name string, record []byte) error
	PeerID() string
	Addrs() []string
	Peers() []string
	// Check reports whether the block store is writable and the host up;
	// FreeBytes the space left for blocks (readiness, the free-space floor).
	Check() error
	FreeBytes() (int64, error)
}

// Observer is told what the domain did, for metrics; every method must be
// cheap and safe for concurrent use.
type Observer interface {
	// Upload: credential is a token.Kind's name, outcome ok, refused
	// (4xx) or failed (5xx), bytes the acknowledged bytes.
	Upload(credential, outcome string, bytes int64)
	// CredentialCheck: result ok or refused.
	CredentialCheck(credential, result string)
	// Fetch: a pin-by-CID fetch ended pinned or failed.
	Fetch(outcome string, d time.Duration)
	// GC: a garbage collection freed blocks and bytes.
	GC(blocks, bytes int64, d time.Duration, failed bool)
}

type noObserver struct{}

func (noObserver) Upload(string, string, int64)         {}
func (noObserver) CredentialCheck(string, string)       {}
func (noObserver) Fetch(string, time.Duration)          {}
func (noObserver) GC(int64, int64, time.Duration, bool) {}

// Config configures New.
type Config struct {
	Store  Store
	Node   Node
	Hasher *token.Hasher
	// Signer signs and verifies access JWTs; nil disables them.
	Signer *token.Signer
	// MaxUploadBytes caps one upload; 0 means 32 GiB.
	MaxUploadBytes int64
	// MaxFilesPerUpload caps the files of one upload (a directory); 0
	// means 10,000.
	MaxFilesPerUpload int
	// Fetch configures the pin-by-CID workers; Fetch.Disabled leaves
	// requests queued (the CLI's offline commands, which have no network).
	Fetch FetchConfig
	// RateLimits bound uploads, credential issuance and failed
	// authentications; the zero value limits nothing (`ninja serve` applies
	// DefaultRateLimits).
	RateLimits RateLimits
	// MinFreeBytes refuses uploads and pin requests with
	// ErrInsufficientStorage while the block store's disk has less free
	// space; 0 means no floor.
	MinFreeBytes int64
	// Resumable configures resumable (tus) uploads; without a Dir they are
	// disabled.
	Resumable ResumableConfig
	// Cluster replicates every pin to an IPFS Cluster (cluster.go); without
	// a Client nothing Cluster-related starts.
	Cluster ClusterConfig
	// RepublishInterval is how often IPNS records are re-signed before
	// they expire and re-put to the DHT (names.go); 0 means 30 minutes,
	// negative never (tests call Republish).
	RepublishInterval time.Duration
	// Observer receives metrics; nil means none.
	Observer Observer
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the domain: every operation the API dialects offer. It is safe
// for concurrent use. Create it with New; Close stops its background work.
type Service struct {
	store  Store
	node   Node
	hasher *token.Hasher
	signer *token.Signer
	now    func() time.Time
	log    *slog.Logger

	maxUpload int64
	maxFiles  int
	minFree   int64
	ready     readiness
	limits    limits
	obs       Observer
	fetch     *fetcher // nil when fetching is disabled
	reads     gatewayReads
	tus       *resumables // nil when resumable uploads are disabled
	repl      *replicator // nil without a Cluster
	names     nameState

	bg   context.Context    // the background work's, done at Close
	stop context.CancelFunc // ends the background work below
	wg   sync.WaitGroup
}

// New returns a Service over cfg's store and node and, unless
// cfg.Fetch.Disabled, starts the pin-by-CID workers (resuming the requests
// that were queued or fetching when the process last stopped).
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Node == nil || cfg.Hasher == nil {
		return nil, errors.New("pinning: Store, Node and Hasher are required")
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = 32 << 30
	}
	if cfg.MaxFilesPerUpload <= 0 {
		cfg.MaxFilesPerUpload = 10_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	s := &Service{
		store: cfg.Store, node: cfg.Node, hasher: cfg.Hasher, signer: cfg.Signer,
		now: cfg.Now, log: cfg.Logger, maxUpload: cfg.MaxUploadBytes, maxFiles: cfg.MaxFilesPerUpload, minFree: cfg.MinFreeBytes, limits: newLimits(cfg.RateLimits), obs: cfg.Observer,
	}
	tus, err := newResumables(cfg.Resumable)
	if err != nil {
		return nil, fmt.Errorf("pinning: %w", err)
	}
	s.tus = tus
	s.names.put = map[string]time.Time{}
	if !cfg.Fetch.Disabled {
		f, err := startFetcher(s, cfg.Fetch)
		if err != nil {
			return nil, fmt.Errorf("pinning: %w", err)
		}
		s.fetch = f
	}
	s.reads = gatewayReads{sums: map[string]*readSum{}, flush: s.recordReads}
	bg, stop := context.WithCancel(context.Background())
	s.bg, s.stop = bg, stop
	s.wg.Add(1)
	go s.runReads(bg)
	if s.tus != nil {
		s.wg.Add(1)
		go s.runSweeper(bg)
	}
	if cfg.Cluster.Client != nil {
		r, err := newReplicator(s, cfg.Cluster)
		if err != nil {
			stop()
			s.wg.Wait()
			if s.fetch != nil {
				s.fetch.close(context.Background())
			}
			return nil, fmt.Errorf("pinning: cluster: %w", err)
		}
		s.repl = r
		r.start(bg, &s.wg)
		if r.cfg.Evict {
			s.node.SetRemoteSource(node.RemoteSource{Peers: r.remotePeers, Fetched: r.fetched})
		}
	}
	if cfg.RepublishInterval == 0 {
		cfg.RepublishInterval = republishInterval
	}
	if cfg.RepublishInterval > 0 {
		s.wg.Add(1)
		go s.runRepublisher(bg, cfg.RepublishInterval)
	}
	return s, nil
}

// Close stops the pin-by-CID workers and the resumable uploads' sweeper,
// and flushes the summed gateway reads.
// Requests cut short stay queued or pinning in the store and resume on the
// next start.
func (s *Service) Close(ctx context.Context) error {
	if s.repl != nil && s.repl.cfg.Evict {
		s.node.SetRemoteSource(node.RemoteSource{})
	}
	s.stop()
	s.wg.Wait()
	if s.repl != nil {
		s.repl.close()
	}
	if s.fetch == nil {
		return nil
	}
	return s.fetch.close(ctx)
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// NodeInfo describes the embedded node for status pages and the Pinning
// Service API's delegates.
type NodeInfo struct {
	PeerID string
	Addrs  []string
	Peers  int
}

// NodeInfo reports the node's identity, addresses and connected peers.
func (s *Service) NodeInfo() NodeInfo {
	return NodeInfo{PeerID: s.node.PeerID(), Addrs: s.node.Addrs(), Peers: len(s.node.Peers())}
}

// ExportCAR writes the DAG under c as a CARv1 from local blocks; a DAG not
// stored here in full is ErrNotFound.
func (s *Service) ExportCAR(ctx context.Context, c cid.Cid, w io.Writer) error {
	if _, complete, err := s.node.LocalDAG(ctx, c); err != nil {
		return fmt.Errorf("export: %w", err)
	} else if !complete {
		return fmt.Errorf("%w: %s is not stored here in full", ErrNotFound, c)
	}
	return s.node.ExportCAR(ctx, c, w)
}

// MaxUploadBytes is the largest upload the service accepts.
func (s *Service) MaxUploadBytes() int64 { return s.maxUpload }
