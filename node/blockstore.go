package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble/v2"

	ds "github.com/ipfs/go-datastore"
	flatfs "github.com/ipfs/go-ds-flatfs"
	pebbleds "github.com/ipfs/go-ds-pebble"
)

// storeKind names a block datastore backend.
type storeKind int

const (
	// storeDefault is whichever backend measured best; see openDatastore.
	storeDefault storeKind = iota
	storeFlatfs
	storePebble
)

// openDatastore opens (creating on first use) the block datastore in
// dataDir/blocks.
//
// An existing store keeps its backend whatever the default is now, so a
// data dir never silently comes up empty after an upgrade.
//
// Durability contract: Import.Commit, Fetch and GC call syncDatastore,
// after which everything written before is on stable storage. flatfs gets
// there with a group-committed syncfs on Linux, and by fsyncing each file as
// it is written elsewhere (openFlatfs); pebble writes unsynced and
// syncDatastore fsyncs its WAL.
func openDatastore(dataDir string, kind storeKind) (ds.Batching, error) {
	dir := filepath.Join(dataDir, "blocks")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if kind == storeDefault {
		kind = existingStoreKind(dir)
	}
	switch kind {
	case storeFlatfs:
		// NextToLast(2) is Kubo's layout. Durability: see openFlatfs.
		d, err := openFlatfs(dir)
		if err != nil {
			return nil, fmt.Errorf("open flatfs block store: %w", err)
		}
		return d, nil
	case storePebble:
		d, err := pebbleds.NewDatastore(dir, pebbleds.WithPebbleOpts(pebbleOptions()))
		if err != nil {
			return nil, fmt.Errorf("open pebble block store: %w", err)
		}
		return d, nil
	default:
		return nil, fmt.Errorf("unknown store kind %d", kind)
	}
}

// syncDatastore makes every write done so far durable. For pebble it fsyncs
// the WAL; concurrent callers share one fsync (pebble's group commit), which
// is what makes many small concurrent uploads cheap.
func syncDatastore(ctx context.Context, d ds.Batching) error {
	if err := d.Sync(ctx, ds.NewKey("/")); err != nil {
		return fmt.Errorf("sync block store: %w", err)
	}
	return nil
}

// pebbleOptions tunes pebble for a block store: keys are multihashes
// (random, never range-scanned except by GC), values are up to 1 MiB.
// pebble is kept as the measured alternative; the benchmarks run both.
func pebbleOptions() *pebble.Options {
	o := &pebble.Options{
		// FormatValueSeparation lets large values live in blob files that
		// compactions do not rewrite, so a 1 GiB import is written roughly
		// twice (WAL + blob file) rather than once per LSM level.
		FormatMajorVersion: pebble.FormatValueSeparation,
		// 32 MiB memtables: big enough that 1 MiB blocks do not flush every
		// few puts, small enough to keep peak RSS well under 150 MiB
		// (pebble keeps at most MemTableStopWritesThreshold of them).
		MemTableSize:                32 << 20,
		MemTableStopWritesThreshold: 2,
		// Spread writeback instead of a large burst at each fsync.
		BytesPerSync:    1 << 20,
		WALBytesPerSync: 1 << 20,
	}
	o.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{
			Enabled:               true,
			MinimumSize:           4 << 10,
			MaxBlobReferenceDepth: 10,
			RewriteMinimumAge:     time.Hour,
			TargetGarbageRatio:    0.2,
		}
	}
	return o
}

// defaultStoreKind is the backend New uses. flatfs won the measurement
// recorded above storeKinds in bench_test.go: 240-470 MB/s for a durable
// 1 GiB import at ~110 MiB peak RSS (pebble: 110-220 MB/s, 300+ MiB), and
// 2,100-3,100 durable 4 KiB imports/s with 32 uploaders (pebble: ~30,000/s
// thanks to group commit, the one thing it does better). Those flatfs
// numbers were taken with per-file fsync; with the group syncfs of
// openFlatfs, end-to-end 4 KiB uploads over HTTP went from about 1,000/s
// to about 1,600/s (bench/, 32 clients), at the same 1 GiB throughput.
const defaultStoreKind = storeFlatfs

// existingStoreKind recognises the backend of an existing block store by
// its marker file, falling back to defaultStoreKind for a new one.
func existingStoreKind(dir string) storeKind {
	if _, err := os.Stat(filepath.Join(dir, flatfs.SHARDING_FN)); err == nil {
		return storeFlatfs
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "MANIFEST-*")); len(m) > 0 {
		return storePebble
	}
	return defaultStoreKind
}
