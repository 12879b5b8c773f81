package node

import (
	"fmt"
	"strings"
)

// Limits bounds the work one request can make the node do. Every limit is
// refused with an error wrapping ErrLimit that names it; a zero field
// means its default. The defaults are far above what a real upload or DAG
// needs and low enough that no single request can cost minutes of CPU or
// gigabytes of memory (the measurements that set them are in the field
// comments).
type Limits struct {
	// MaxPathDepth is how many segments one AddDirectory entry path may
	// have. Default 64. (An 800,000-level path took 228 s and 2.35 GiB:
	// every level is a directory node built recursively.)
	MaxPathDepth int
	// MaxPathBytes is how long one AddDirectory entry path may be, in
	// bytes. Default 4096 (Linux's PATH_MAX).
	MaxPathBytes int
	// MaxNameBytes is how long one path segment (a file or directory
	// name) may be, in bytes. Default 255 (NAME_MAX on every common
	// file system, so a downloaded directory can be written to disk).
	MaxNameBytes int
	// MaxEntries is how many files one import session may add with
	// AddFile, and how many entries one AddDirectory may hold. Default
	// 100,000 (100,000 parts cost ~254 MiB before this limit).
	MaxEntries int
	// MaxCARRoots is how many distinct roots one CAR may name. Default 1000.
	MaxCARRoots int
	// MaxDAGDepth is how many links below its root a DAG walk follows
	// before it refuses the DAG: LocalDAG, DagSize, FetchDAG, ExportCAR
	// and the gateway's whole-DAG CARs. Default 4096; UnixFS files reach
	// terabytes at depth 4, and directory nesting is bounded by
	// MaxPathDepth, so only a hostile DAG comes near it.
	MaxDAGDepth int
	// MaxDAGBlocks is how many blocks one DAG walk visits: distinct
	// blocks for LocalDAG, DagSize, FetchDAG and ExportCAR; every block
	// written, repeats included, for a car-dups=y CAR. Default 2,000,000:
	// a ~1.9 TiB file with 1 MiB chunks, ~490 GiB with 256 KiB chunks.
	MaxDAGBlocks int
	// MaxResponseBlocks is how many block reads one gateway response may
	// make, repeats included. Default 500,000: one response serves a file
	// of up to ~490 GiB with 1 MiB chunks (~120 GiB with 256 KiB chunks;
	// larger ones download by Range, each range its own response). A
	// 5 KB DAG of 64 levels that each link twice to one child, asked for
	// with car-dups=y, then stops after 44 MB instead of never: 13 s of
	// CPU on the dev VM for a whole-DAG CAR, 40 s for a sub-path's, which
	// boxo's slower traversal writes.
	MaxResponseBlocks int
}

// Default limits; see Limits.
const (
	defaultMaxPathDepth = 64
	defaultMaxPathBytes = 4096
	defaultMaxNameBytes = 255
	defaultMaxEntries   = 100_000
	defaultMaxCARRoots  = 1000
	defaultMaxDAGDepth  = 4096
	defaultMaxDAGBlocks = 2_000_000
	defaultMaxResponse  = 500_000
)

// withDefaults returns l with every zero (or negative) field set to its default.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxPathDepth, defaultMaxPathDepth)
	def(&l.MaxPathBytes, defaultMaxPathBytes)
	def(&l.MaxNameBytes, defaultMaxNameBytes)
	def(&l.MaxEntries, defaultMaxEntries)
	def(&l.MaxCARRoots, defaultMaxCARRoots)
	def(&l.MaxDAGDepth, defaultMaxDAGDepth)
	def(&l.MaxDAGBlocks, defaultMaxDAGBlocks)
	def(&l.MaxResponseBlocks, defaultMaxResponse)
	return l
}

// Limits returns the limits the node enforces, defaults filled in, so a
// caller can refuse a request early (say, at the part after the last one
// an upload may have) with the same numbers.
func (n *Node) Limits() Limits { return n.limits }

// checkPath checks one directory entry path against the path limits,
// before any of it is built.
func (l Limits) checkPath(p string) error {
	if len(p) > l.MaxPathBytes {
		return fmt.Errorf("%w: path of %d bytes is over the %d-byte limit", ErrLimit, len(p), l.MaxPathBytes)
	}
	depth := strings.Count(p, "/") + 1
	if depth > l.MaxPathDepth {
		return fmt.Errorf("%w: path of %d segments is over the %d-segment limit", ErrLimit, depth, l.MaxPathDepth)
	}
	for s := range strings.SplitSeq(p, "/") {
		if len(s) > l.MaxNameBytes {
			return fmt.Errorf("%w: name of %d bytes is over the %d-byte limit", ErrLimit, len(s), l.MaxNameBytes)
		}
	}
	return nil
}

// errDAGDepth and errDAGBlocks are the walk limits' errors.
func (l Limits) errDAGDepth() error {
	return fmt.Errorf("%w: dag deeper than %d levels", ErrLimit, l.MaxDAGDepth)
}

func (l Limits) errDAGBlocks() error {
	return fmt.Errorf("%w: dag of more than %d blocks", ErrLimit, l.MaxDAGBlocks)
}
