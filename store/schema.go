package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Bucket names; the package doc draws the tree.
var (
	bucketMeta        = []byte("meta")
	bucketAccounts    = []byte("accounts")
	bucketAcctNames   = []byte("acctnames")
	bucketAcctsByTime = []byte("acctsbytime")
	bucketKeys        = []byte("keys")
	bucketKeyHash     = []byte("keyhash")
	bucketKeysByAcct  = []byte("keysbyacct")
	bucketTokens      = []byte("tokens")
	bucketTokHash     = []byte("tokhash")
	bucketToksByAcct  = []byte("toksbyacct")
	bucketTokExpiry   = []byte("tokexpiry")
	bucketSigningKeys = []byte("signingkeys")
	bucketSigKeysByAc = []byte("sigkeysbyacct")
	bucketJTIs        = []byte("jtis")
	bucketJTIExpiry   = []byte("jtiexpiry")
	bucketAccessJWTs  = []byte("accessjwts")
	bucketJWTsByAcct  = []byte("jwtsbyacct")
	bucketPins        = []byte("pins")
	bucketPinsByAcct  = []byte("pinsbyacct") // schema 3's account index; schema 4 drops it
	bucketPinsByStat  = []byte("pinsbystatus")
	bucketPinsByCID   = []byte("pinsbycid")
	bucketPinsByName  = []byte("pinsbyname")
	bucketPinsByMeta  = []byte("pinsbymeta")
	bucketPinsByMime  = []byte("pinsbymime")
	bucketPinsByCred  = []byte("pinsbycred")
	bucketPinCounts   = []byte("pincounts")
	bucketPinQueue    = []byte("pinqueue")
	bucketCIDRefs     = []byte("cidrefs")
	bucketUsage       = []byte("usage")
	bucketPrefixes    = []byte("prefixes")
	bucketQuotas      = []byte("quotas")
	bucketEvents      = []byte("events")
	bucketGWReads     = []byte("gwreads")
	bucketRollups     = []byte("rollups")
	bucketStorageDays = []byte("storagedays")

	keySchema      = []byte("schema")
	keyLastCreated = []byte("lastCreated")
)

// Schema 5's buckets: groups of pins (groups.go).
var (
	bucketGroups       = []byte("groups")
	bucketGroupsByAcct = []byte("groupsbyacct")
	bucketPinsByGroup  = []byte("pinsbygroup")
	bucketPinGroups    = []byte("pingroups")
)

// schema4Buckets are the buckets schema 4 added or rebuilt; derived ones
// (every index and counter) are rebuilt from the records by migration 4.
var schema4Buckets = [][]byte{
	bucketAcctNames, bucketAcctsByTime, bucketKeysByAcct, bucketToksByAcct, bucketTokExpiry,
	bucketSigKeysByAc, bucketJTIExpiry, bucketJWTsByAcct, bucketPinsByStat,
	bucketPinsByCID, bucketPinsByName, bucketPinsByMeta, bucketPinsByMime, bucketPinsByCred,
	bucketPinCounts, bucketPinQueue, bucketCIDRefs, bucketUsage, bucketPrefixes,
	bucketGWReads, bucketRollups, bucketStorageDays,
}

// appendBuckets are written in key order: their keys start with a time,
// or with a group (an account, a MIME type, a credential, a metadata
// pair) whose newest entries come last. bbolt splits a full page at
// FillPercent, so the default 0.5 leaves every page of an append-only
// bucket half empty (measured at 1M pins: the MIME, credential and
// metadata indexes were 49% full). 0.9 rather than 1.0 because appends
// land at the end of each group, the middle of the bucket: a page split
// at 100% would be split again by the next append into it. The CID and
// name indexes and cidrefs/ are written at random and keep 0.5.
var appendBuckets = [][]byte{
	bucketPins, bucketEvents, bucketPinsByStat, bucketPinsByMime, bucketPinsByCred, bucketPinsByMeta,
	bucketPinQueue, bucketAcctsByTime, bucketKeysByAcct, bucketToksByAcct, bucketSigKeysByAc,
	bucketJWTsByAcct, bucketTokExpiry, bucketJTIExpiry, bucketGWReads, bucketRollups, bucketStorageDays,
	bucketGroupsByAcct,
}

// freelistType is bbolt's free-page list. bbolt writes the whole list on
// every commit; the hashmap list rebuilds and sorts it from its spans each
// time, the array list keeps it sorted. Measured with
// BenchmarkAddPinsCommitCost (one-pin AddPins, each its own fsynced
// commit, process CPU, the sizes and lists taking turns on a shared 2-core
// machine, medians of 3 rounds of 200 commits, just after a bulk import):
//
//	                        10k pins   1M pins   ratio
//	array                    1.42 ms    2.04 ms   1.44x
//	hashmap                  1.73 ms    2.93 ms   1.69x
//	array, NoFreelistSync       -       1.99 ms   and the next Open takes 1.8 s
//
// NoFreelistSync saves writing the list but makes bbolt rebuild it at Open
// by reading every page, against the 1 s start-up target. So: the array
// list, and transactions kept small (importChunk, migrateChunk,
// pruneBatch) so the list stays short. The rest of the difference is the
// deeper trees, and the free pages a bulk import leaves behind: after an
// import in 1000-pin transactions a one-pin commit wrote 46 pages at 1M
// pins (16 of them freelist) against 32 at 10k (3).
const freelistType = bolt.FreelistArrayType

func fillAppendBuckets(tx *bolt.Tx) {
	for _, name := range appendBuckets {
		if b := tx.Bucket(name); b != nil {
			b.FillPercent = 0.9
		}
	}
}

// A migration brings a database from version i to i+1; the schema version
// is len(migrations). Append, never edit. A migration runs in one
// transaction with the version bump unless it is chunked: then it runs in
// as many transactions as it needs (a million pins do not fit one), must
// be safe to rerun from the start after a crash, and bumps the version in
// its last transaction.
type migration struct {
	apply   func(tx *bolt.Tx) error
	chunked func(s *Store, version uint64) error
}

var migrations = []migration{
	{apply: func(tx *bolt.Tx) error { // 0 -> 1: the initial bucket tree
		return createBuckets(tx, bucketAccounts, bucketKeys, bucketKeyHash, bucketTokens,
			bucketTokHash, bucketPins, bucketPinsByAcct, bucketPinsByCID, bucketCIDRefs, bucketEvents)
	}},
	{apply: func(tx *bolt.Tx) error { // 1 -> 2: the pin-by-CID queue index
		return createBuckets(tx, bucketPinQueue)
	}},
	{apply: func(tx *bolt.Tx) error { // 2 -> 3: JWT credentials
		return createBuckets(tx, bucketSigningKeys, bucketJTIs, bucketAccessJWTs)
	}},
	// 3 -> 4: every list an index, every count a counter, quotas, roll-ups.
	{chunked: migrate4},
	{apply: func(tx *bolt.Tx) error { // 4 -> 5: groups of pins (groups.go)
		return createBuckets(tx, bucketGroups, bucketGroupsByAcct, bucketPinsByGroup, bucketPinGroups)
	}},
	// 5 -> 6: resumable (tus) uploads' records and reservations (tus.go).
	{apply: createTusBuckets},
	// 6 -> 7: the IPFS Cluster outbox and replication records (cluster.go).
	{apply: createClusterBuckets},
	// 7 -> 8: IPNS names, their keys and records (names.go).
	{apply: createNameBuckets},
}

func createBuckets(tx *bolt.Tx, names ...[]byte) error {
	for _, b := range names {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return nil
}

func (s *Store) schemaVersion() (uint64, error) {
	var version uint64
	err := s.view(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			if v := meta.Get(keySchema); len(v) == 8 {
				version = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	return version, err
}

func setVersion(tx *bolt.Tx, v uint64) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	return meta.Put(keySchema, u64(v))
}

// migrate runs every migration the database has not had.
func (s *Store) migrate() error {
	version, err := s.schemaVersion()
	if err != nil {
		return err
	}
	latest := uint64(len(migrations))
	if version > latest {
		return fmt.Errorf("schema version %d is newer than this binary (%d)", version, latest)
	}
	if version < latest && s.opts.ReadOnly {
		return fmt.Errorf("schema version %d needs migrating to %d: open it once read-write", version, latest)
	}
	for v := version; v < latest; v++ {
		m := migrations[v]
		if m.chunked != nil {
			err = m.chunked(s, v+1)
		} else {
			err = s.update(func(tx *bolt.Tx) error {
				if err := m.apply(tx); err != nil {
					return err
				}
				return setVersion(tx, v+1)
			})
		}
		if err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if version > 0 { // not a new database
			s.log.Info("store: migrated", "schema", v+1, "path", s.path)
		}
	}
	return nil
}
