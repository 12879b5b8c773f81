// Package store keeps ninja's records in one bbolt database: accounts, API
// keys, upload tokens, pin records and analytics events. It is the only
// package that imports bbolt.
//
// The bucket tree:
//
//	meta/
//	  schema            -> uint64 schema version (big-endian)
//	  lastCreated       -> int64 unix nanos of the newest pin (keeps `created` unique)
//	accounts/  id       -> Account (JSON)
//	keys/      id       -> APIKey (JSON)
//	keyhash/   hash     -> key id
//	tokens/    id       -> Token (JSON)
//	tokhash/   hash     -> token id
//	pins/      id       -> Pin (JSON)
//	pinsbyacct/ account 0x00 created(8, big-endian) id -> nil   (newest-first paging)
//	pinsbycid/  account 0x00 cid 0x00 id               -> nil   (lookup by CID)
//	cidrefs/    cid     -> uint64 live pin count across accounts
//	events/     seq(8, big-endian) -> Event (JSON)
//	pinqueue/   created(8, big-endian) id -> nil   (pin-by-CID requests queued or pinning)
//
// Every key, token and pin belongs to an account; queries take the account
// and never return another account's records.
package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
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
)

// Limits a LimitError names.
const (
	LimitTokenBytes = "token total bytes" // an upload token's maxTotalMB
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

var (
	bucketMeta       = []byte("meta")
	bucketAccounts   = []byte("accounts")
	bucketKeys       = []byte("keys")
	bucketKeyHash    = []byte("keyhash")
	bucketTokens     = []byte("tokens")
	bucketTokHash    = []byte("tokhash")
	bucketPins       = []byte("pins")
	bucketPinsByAcct = []byte("pinsbyacct")
	bucketPinsByCID  = []byte("pinsbycid")
	bucketCIDRefs    = []byte("cidrefs")
	bucketEvents     = []byte("events")
	bucketPinQueue   = []byte("pinqueue")

	keySchema      = []byte("schema")
	keyLastCreated = []byte("lastCreated")
)

// migrations bring a database from version i to i+1; the schema version is
// len(migrations). Append, never edit.
var migrations = []func(tx *bolt.Tx) error{
	func(tx *bolt.Tx) error { // 0 -> 1: the initial bucket tree
		for _, b := range [][]byte{bucketAccounts, bucketKeys, bucketKeyHash, bucketTokens,
			bucketTokHash, bucketPins, bucketPinsByAcct, bucketPinsByCID, bucketCIDRefs, bucketEvents} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	func(tx *bolt.Tx) error { // 1 -> 2: the pin-by-CID queue index
		_, err := tx.CreateBucketIfNotExists(bucketPinQueue)
		return err
	},
	func(tx *bolt.Tx) error { // 2 -> 3: JWT credentials
		for _, b := range [][]byte{bucketSigningKeys, bucketJTIs, bucketAccessJWTs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
}

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
	// ReadOnly opens the database without taking the write lock.
	ReadOnly bool
	// Logger receives background errors; nil means slog.Default().
	Logger *slog.Logger
}

// Store is the bbolt-backed record store. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	now  func() time.Time
	log  *slog.Logger
	path string
	file os.FileInfo // the database file as opened, so Check notices it deleted or replaced

	res      reservations
	creds    credCache
	eventSeq atomic.Uint64

	events  chan Event
	flushed chan chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Open opens (creating if needed) the database at path and migrates it to the
// current schema.
func Open(path string, opts Options) (*Store, error) {
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
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  opts.Timeout,
		ReadOnly: opts.ReadOnly,
		// The map freelist keeps allocation O(1) as the file grows to
		// millions of pin records, where the array freelist slows commits.
		FreelistType: bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// Pin records are small and written in bursts by concurrent uploads;
	// bbolt's Batch coalesces them into one fsync. 2ms keeps the added
	// latency well under a disk flush.
	db.MaxBatchDelay = 2 * time.Millisecond
	s := &Store{db: db, now: opts.Now, log: opts.Logger, path: path}
	s.file, _ = os.Stat(path)
	s.res.init()
	s.creds.init()
	if !opts.ReadOnly {
		if err := s.migrate(); err != nil {
			db.Close()
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.events = make(chan Event, 4096)
	s.flushed = make(chan chan struct{})
	s.wg.Add(1)
	go s.runEvents(ctx, opts.EventFlushInterval)
	return s, nil
}

func (s *Store) migrate() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		var version uint64
		if v := meta.Get(keySchema); v != nil {
			version = binary.BigEndian.Uint64(v)
		}
		if version > uint64(len(migrations)) {
			return fmt.Errorf("schema version %d is newer than this binary (%d)", version, len(migrations))
		}
		for i := version; i < uint64(len(migrations)); i++ {
			if err := migrations[i](tx); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		return meta.Put(keySchema, u64(uint64(len(migrations))))
	})
}

// Close flushes pending analytics events and closes the database.
func (s *Store) Close(ctx context.Context) error {
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the database to w while it is in use.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// newID returns prefix followed by 16 random hex characters.
func newID(prefix string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// list decodes every record of a bucket, keeps those keep accepts (nil
// keeps all) and orders them by creation time, oldest or newest first.
func list[T any](db *bolt.DB, bucket []byte, keep func(*T) bool, created func(*T) time.Time, newestFirst bool) ([]T, error) {
	var out []T
	err := db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(_, v []byte) error {
			var rec T
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if keep == nil || keep(&rec) {
				out = append(out, rec)
			}
			return nil
		})
	})
	sortByCreated(out, created, newestFirst)
	return out, err
}

// sortByCreated orders records by their creation time.
func sortByCreated[T any](out []T, created func(*T) time.Time, newestFirst bool) {
	slices.SortStableFunc(out, func(a, b T) int {
		c := created(&a).Compare(created(&b))
		if newestFirst {
			return -c
		}
		return c
	})
}

func getJSON(b *bolt.Bucket, key []byte, v any) error {
	raw := b.Get(key)
	if raw == nil {
		return ErrNotFound
	}
	return json.Unmarshal(raw, v)
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}
