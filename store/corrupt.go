package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
)

// bbolt's file starts with two meta pages, each a 16-byte page header and
// then the meta record (native byte order):
//
//	magic(4) version(4) pageSize(4) flags(4) root(8) sequence(8)
//	freelist(8) pgid(8) txid(8) checksum(8)
//
// pgid is the high-water mark: the file must hold pgid pages. bbolt maps
// the file and reads pages where the meta says they are, so a file cut
// short faults (SIGBUS) past its end instead of failing; checkFile refuses
// it first.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16
	metaSize       = 64
)

type boltMeta struct {
	pageSize uint32
	pgid     uint64
	txid     uint64
}

// checkFile refuses a database file that is not a whole bbolt file: no
// valid meta page, or shorter than its high-water mark. A missing or
// empty file is a new database, unless mustExist.
func checkFile(path string, mustExist bool) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if mustExist {
			return fmt.Errorf("%w: no database at %s", ErrNotFound, path)
		}
		return nil
	case err != nil:
		return err
	case fi.Size() == 0:
		if mustExist {
			return fmt.Errorf("%w: %s is empty (%w)", ErrCorrupt, path, ErrNotFound)
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := readMeta(f)
	if err != nil {
		return err
	}
	if need := int64(m.pgid) * int64(m.pageSize); fi.Size() < need {
		return fmt.Errorf("%w: the file is truncated: %d bytes, but its meta page says %d pages of %d bytes (%d)",
			ErrCorrupt, fi.Size(), m.pgid, m.pageSize, need)
	}
	return nil
}

// readMeta returns the newest valid meta page, as bbolt would choose it.
func readMeta(r io.ReaderAt) (boltMeta, error) {
	m0, err0 := readMetaAt(r, 0)
	var candidates []boltMeta
	if err0 == nil {
		candidates = append(candidates, m0)
		if m1, err := readMetaAt(r, int64(m0.pageSize)); err == nil {
			candidates = append(candidates, m1)
		}
	} else {
		// The first page is damaged: look for the second at the page
		// sizes bbolt uses.
		for _, size := range []int64{4096, 8192, 16384, 32768, 65536} {
			if m1, err := readMetaAt(r, size); err == nil && int64(m1.pageSize) == size {
				candidates = append(candidates, m1)
				break
			}
		}
	}
	if len(candidates) == 0 {
		return boltMeta{}, fmt.Errorf("%w: not a bbolt database, or both meta pages are damaged (%v)", ErrCorrupt, err0)
	}
	best := candidates[0]
	for _, m := range candidates[1:] {
		if m.txid > best.txid {
			best = m
		}
	}
	return best, nil
}

func readMetaAt(r io.ReaderAt, off int64) (boltMeta, error) {
	var buf [pageHeaderSize + metaSize]byte
	if _, err := r.ReadAt(buf[:], off); err != nil {
		return boltMeta{}, fmt.Errorf("read meta page at %d: %w", off, err)
	}
	meta := buf[pageHeaderSize:]
	ne := binary.NativeEndian
	if ne.Uint32(meta[0:]) != boltMagic || ne.Uint32(meta[4:]) != boltVersion {
		return boltMeta{}, fmt.Errorf("no bbolt meta page at %d", off)
	}
	h := fnv.New64a()
	h.Write(meta[:56])
	if h.Sum64() != ne.Uint64(meta[56:]) {
		return boltMeta{}, fmt.Errorf("meta page at %d fails its checksum", off)
	}
	m := boltMeta{pageSize: ne.Uint32(meta[8:]), pgid: ne.Uint64(meta[40:]), txid: ne.Uint64(meta[48:])}
	if m.pageSize < 1024 || m.pageSize&(m.pageSize-1) != 0 || m.pgid < 4 {
		return boltMeta{}, fmt.Errorf("meta page at %d has page size %d and %d pages", off, m.pageSize, m.pgid)
	}
	return m, nil
}
