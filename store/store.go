// Package store keeps ninja's records in one bbolt database: accounts,
// credentials, pin records, quotas and analytics. It is the only package
// that imports bbolt.
//
// Every list is a cursor over an index bucket and every count is a counter
// written in the same transaction as the records it counts, so no query
// decodes more records than it returns. Keys are built from length-prefixed
// fields (lp) and 8-byte big-endian times (t), so they sort by time within
// a group and no user-chosen string can forge another key. The bucket tree
// (schema 8):
//
//	meta/         schema -> uint64; lastCreated -> int64 (keeps pin `created` unique)
//	accounts/     id -> Account (JSON)
//	acctnames/    name -> id
//	acctsbytime/  t(created) id -> nil
//	keys/         id -> APIKey (JSON)
//	keyhash/      hash -> key id
//	keysbyacct/   lp(account) t(created) id -> nil
//	tokens/       id -> Token (JSON)
//	tokhash/      hash -> token id
//	toksbyacct/   lp(account) t(created) id -> nil
//	tokexpiry/    t(expiresAt) id -> nil                  (pruning)
//	signingkeys/  kid -> SigningKey (JSON)
//	sigkeysbyacct/ lp(account) t(created) kid -> nil
//	jtis/         issuer 0x00 jti -> t(expires)           (consumed upload JWTs)
//	jtiexpiry/    t(expires) jtis-key -> nil              (pruning)
//	accessjwts/   jti -> AccessJWT (JSON)
//	jwtsbyacct/   lp(account) t(created) jti -> nil
//	pins/         id -> Pin (JSON)
//	pinsbystatus/ lp(account) status(1) t(created) id -> name  (the account's pins: four groups)
//	pinsbycid/    lp(account) lp(cid) status(1) t(created) id -> nil
//	pinsbyname/   lp(account) lp(name) status(1) t(created) id -> nil
//	pinsbymeta/   lp(account) lp(key) lp(value) status(1) t(created) id -> nil
//	pinsbymime/   lp(account) lp(mimeType) status(1) t(created) id -> nil
//	pinsbycred/   lp(account) lp(credentialID) status(1) t(created) id -> nil
//	pincounts/    tag(1) group time-prefix(0..6) -> count-tree node (timeindex.go)
//	pinqueue/     t(created) id -> nil                    (pin-by-CID requests queued or pinning)
//	cidrefs/      cid -> uint64 pins of any status, all accounts (the GC root set),
//	              then per account pinning it: its pinned pins, size, per-prefix counts
//	usage/        lp(account) -> Usage; lp("") is the whole server
//	prefixes/     lp(account) prefix -> pinned pins and stored bytes by that credential prefix
//	quotas/       lp(account) -> Quota (JSON): the operator's override
//	events/       t(time) seq(8) -> Event (JSON): raw events, kept EventRetention
//	gwreads/      day(4) cid -> anonymous gateway reads of that CID that day
//	rollups/      lp(account) lp(prefix) day(4) -> day's stats (JSON); prefix "" is every credential
//	storagedays/  lp(account) lp(prefix) day(4) -> int64 stored bytes added that day, net
//	groups/       id -> Group (JSON)                      (schema 5: groups.go)
//	groupsbyacct/ lp(account) t(created) id -> nil
//	pinsbygroup/  lp(account) lp(group) status(1) t(created) pin-id -> nil
//	pingroups/    lp(pin-id) group-id -> seq(8): the order the pin joined its groups
//	tusuploads/   id -> TusUpload (JSON): resumable (tus) uploads, open or completed (schema 6: tus.go)
//	tusexpiry/    t(expiresAt) id -> nil                  (the domain's sweeper)
//	tusbytoken/   lp(tokenID) id -> int64 length           (open uploads holding a use of the token: durable reservations)
//	tususage/     lp(account) -> int64 Upload-Length of the open uploads (counted as stored); lp("") the server's
//	clusterout/   seq(8) -> ClusterOp (JSON): Cluster pins and unpins to send, in commit order (schema 7: cluster.go)
//	clusterrep/   cid -> Replication (JSON): what the Cluster last reported about the CID
//	ipnsnames/    name -> Name (JSON): an IPNS name's key and current record (schema 8: names.go)
//	ipnsbyacct/   lp(account) t(created) name -> nil
//	ipnslabels/   lp(account) lp(label) -> name
//
// A group's group-and-time index (the pin indexes) has a count tree in
// pincounts/, so a count under any time bound is O(log n) (timeindex.go);
// ListPins says which index answers which filter. pinsbygroup/ is one of
// those indexes, for Pinata's groups of pins, and every pin write keeps it
// and pingroups/ in step with the pin (applyMemberships). Schema 3 (the
// layout before the indexes: records plus pinsbyacct/ and pinsbycid/ with
// 0x00 separators) migrates in place on the first open (migrate4.go), and
// the schema-version key with the append-only migrations list is in
// schema.go; schema 5 only adds the group buckets, schema 6 the resumable
// uploads' buckets, schema 7 the Cluster outbox's, schema 8 the IPNS
// names'.
//
// Background work, started by Open and stopped by Close: the analytics
// batch writer (events.go) and the pruner (prune.go), which deletes expired
// tokens after a grace, consumed jtis past their window, idle token
// reservations and raw events past their retention, a bounded batch per
// transaction.
//
// Every key, token and pin belongs to an account; queries take the account
// and never return another account's records.
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors returned by the store.
var (
	ErrNotFound = errors.New("not found")
	ErrLocked   = errors.New("database is locked by another process")
	ErrConflict = errors.New("conflict")
	// ErrLimit means a write would pass a counted limit; the error is a
	// *LimitError saying which.
	ErrLimit = errors.New("limit reached")
	// ErrInvalid is an argument the store cannot act on (a bad cursor, an
	// offset past the cap, an unknown status).
	ErrInvalid = errors.New("invalid argument")
	// ErrCorrupt means the database file or a record in it is damaged; the
	// error says what. Nothing is written after it.
	ErrCorrupt = errors.New("database is corrupt")
)

// Limits a LimitError names.
const (
	LimitTokenBytes = "token total bytes" // an upload token's maxTotalMB
	LimitStorage    = "stored bytes"      // Quota.MaxStoredBytes
	LimitPins       = "pins"              // Quota.MaxPins
	LimitQueued     = "queued pins"       // Quota.MaxQueued
)

// LimitError is a write refused because it would pass a counted limit.
type LimitError struct {
	Limit     string // one of the Limit constants
	Max, Used int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s limit reached (%d of %d used)", e.Limit, e.Used, e.Max)
}

// Is makes errors.Is(err, ErrLimit) true for every LimitError.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// Options configures Open.
type Options struct {
	// Timeout bounds the wait for bbolt's file lock, so a second process
	// fails fast with ErrLocked instead of hanging. Zero means 1s.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// EventFlushInterval bounds how long an analytics event waits in memory
	// before it is committed; this is the crash loss window. Zero means 1s.
	EventFlushInterval time.Duration
	// ReadOnly opens the database without taking the write lock. The
	// database must already be at the current schema.
	ReadOnly bool
	// Logger receives background errors; nil means slog.Default().
	Logger *slog.Logger

	// MustExist refuses to create a database: a missing or empty file is
	// an error wrapping ErrNotFound. The server sets it when its block
	// store already holds blocks, so a lost database is never replaced by
	// an empty one whose GC would delete every block.
	MustExist bool
	// NoSync skips fsync on commit. Only for tests, benchmarks and bulk
	// loads that can be redone: a crash can lose or damage the database.
	NoSync bool

	// ClusterOutbox appends a Cluster pin (unpin) operation to the outbox
	// in the transaction where a CID gains its first (loses its last)
	// pinned pin across accounts (cluster.go). Off, nothing is queued.
	ClusterOutbox bool

	// DefaultQuota applies to accounts without an override; zero fields
	// mean no limit.
	DefaultQuota Quota
	// EventRetention is how long raw events are kept (daily roll-ups are
	// kept for ever). Zero means 7 days.
	EventRetention time.Duration
	// TokenGrace is how long an expired upload token is kept, and shown as
	// expired, before pruning deletes it. Zero means 7 days.
	TokenGrace time.Duration
	// PruneInterval is how often the background pruner runs; zero means a
	// minute, negative never (tests call Prune).
	PruneInterval time.Duration
	// UploadEndpoints are the event endpoints that count as uploads in the
	// roll-ups; an entry ending in "/" matches every endpoint it starts.
	// Nil means DefaultUploadEndpoints().
	UploadEndpoints []string

	// bolt, if set, changes bbolt's options (the commit-cost benchmark
	// compares freelists with it).
	bolt func(*bolt.Options)
}

// DefaultUploadEndpoints returns the upload routes of every API dialect:
// the IPFS.NINJA ones that /analytics always counted, Pinata's v3 and
// legacy ones, and every tus PATCH (and creation carrying the whole file).
func DefaultUploadEndpoints() []string {
	return []string{
		"POST /upload", "POST /upload/new", "POST /v3/files", "POST /files",
		"POST /pinning/pinFileToIPFS", "POST /pinning/pinJSONToIPFS", "PATCH /tus/",
		"POST /tus", "POST /tus/", // a tus creation that carries the whole file
	}
}

// Store is the bbolt-backed record store. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	now  func() time.Time
	log  *slog.Logger
	path string
	opts Options
	file os.FileInfo // the database file as opened, so Check notices it deleted or replaced

	group    groupCommit // concurrent writers share commits; see batch
	res      reservations
	creds    credCache
	eventSeq atomic.Uint64

	events chan Event
	// dropped counts events dropped on a full queue; droppedLogged is when
	// that was last logged (unix nanos).
	dropped, droppedLogged atomic.Int64
	flushed                chan chan struct{}
	cancel                 context.CancelFunc
	wg                     sync.WaitGroup
}

// Open opens (creating if needed) the database at path and migrates it to the
// current schema. A truncated or damaged file is an error wrapping
// ErrCorrupt, never a panic.
func Open(path string, opts Options) (*Store, error) {
	opts = withDefaults(opts)
	if err := checkFile(path, opts.MustExist); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db, err := openDB(path, opts)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, now: opts.Now, log: opts.Logger, path: path, opts: opts}
	s.file, _ = os.Stat(path)
	s.res.init(opts.Now)
	s.creds.init()
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.events = make(chan Event, 4096)
	s.flushed = make(chan chan struct{})
	s.wg.Add(1)
	go s.runEvents(ctx, opts.EventFlushInterval)
	if !opts.ReadOnly && opts.PruneInterval > 0 {
		s.wg.Add(1)
		go s.runPruner(ctx, opts.PruneInterval)
	}
	return s, nil
}

func withDefaults(opts Options) Options {
	if opts.Timeout == 0 {
		opts.Timeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.EventFlushInterval == 0 {
		opts.EventFlushInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.EventRetention == 0 {
		opts.EventRetention = 7 * 24 * time.Hour
	}
	if opts.TokenGrace == 0 {
		opts.TokenGrace = 7 * 24 * time.Hour
	}
	if opts.PruneInterval == 0 {
		opts.PruneInterval = time.Minute
	}
	if opts.UploadEndpoints == nil {
		opts.UploadEndpoints = DefaultUploadEndpoints()
	}
	return opts
}

// openDB opens the bbolt file, turning a panic or a fault on a damaged
// page into ErrCorrupt (checkFile has already refused a file shorter than
// its meta page says, which would fault past the end of the mapping).
func openDB(path string, opts Options) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	bo := &bolt.Options{
		Timeout:  opts.Timeout,
		ReadOnly: opts.ReadOnly,
		NoSync:   opts.NoSync,
		// Measured in bench_test.go (BenchmarkAddPinsCommitCost): see
		// freelistType.
		FreelistType: freelistType,
	}
	if opts.bolt != nil {
		opts.bolt(bo)
	}
	db, err = bolt.Open(path, 0o600, bo)
	if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) || errors.Is(err, bolterrors.ErrVersionMismatch) {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return db, err
}

// Close stops the background work, flushes pending analytics events and
// closes the database.
func (s *Store) Close(ctx context.Context) error {
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	// bbolt's Close waits for every open transaction. A read that runs on
	// (a long scan, a backup to a slow writer) must not hold the shutdown
	// past its deadline: past it, Close returns, and the file is closed
	// when the read ends or the process exits. Nothing is lost: every
	// acknowledged write is a committed transaction, and a write still
	// running was never acknowledged.
	closed := make(chan error, 1)
	go func() { closed <- s.db.Close() }()
	var err error
	select {
	case err = <-closed:
	case <-ctx.Done():
		// With no transaction open the close takes well under this, so a
		// context that was done on entry still closes cleanly.
		select {
		case err = <-closed:
		case <-time.After(closeGrace):
			return fmt.Errorf("close store: a transaction is still open at the deadline (%w); the database closes when it ends", ctx.Err())
		}
	}
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// closeGrace is how long Close still waits for the database past its
// context's end (see Close).
const closeGrace = 100 * time.Millisecond

// Backup writes a consistent copy of the database to w while it is in use.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// view runs fn in a read transaction. bbolt panics on a damaged page, and
// a page past the end of the mapping faults; both become ErrCorrupt errors
// for this call rather than the end of the process.
func (s *Store) view(fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.recoverCorrupt(&err)
	return s.db.View(fn)
}

// update runs fn in a write transaction (see view).
func (s *Store) update(fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.recoverCorrupt(&err)
	return s.db.Update(func(tx *bolt.Tx) error {
		fillAppendBuckets(tx)
		return fn(tx)
	})
}

func (s *Store) recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		s.log.Error("store: panic in a transaction", "panic", r, "stack", string(debug.Stack()))
		*err = fmt.Errorf("%w: %v", ErrCorrupt, r)
	}
}

// newID returns prefix followed by 16 random hex characters.
func newID(prefix string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}
