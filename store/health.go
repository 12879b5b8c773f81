package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// ErrUnhealthy means the database cannot be trusted with writes: it is
// closed, or its file was deleted or replaced while it was open (writes
// would then land in an unlinked file and vanish on the next start).
var ErrUnhealthy = errors.New("database not usable")

// Check reports whether the database is open and its file is still the
// one at its path. Readiness probes call it, so it is cheap: a stat and
// an empty read transaction. Its messages name no path: /readyz is public.
func (s *Store) Check() error {
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: the database file was deleted while open", ErrUnhealthy)
	case err != nil:
		return fmt.Errorf("%w: the database file cannot be read: %w", ErrUnhealthy, errors.Unwrap(err))
	case s.file == nil || !os.SameFile(fi, s.file):
		return fmt.Errorf("%w: the database file was replaced while open", ErrUnhealthy)
	}
	if err := s.db.View(func(*bolt.Tx) error { return nil }); err != nil {
		return fmt.Errorf("%w: %w", ErrUnhealthy, err)
	}
	return nil
}

// SchemaVersion is the schema version recorded in the database: the
// number of migrations applied. A backup's manifest records it.
func (s *Store) SchemaVersion() (uint64, error) {
	var v uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			if b := meta.Get(keySchema); len(b) == 8 {
				v = binary.BigEndian.Uint64(b)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// CurrentSchema is the schema version this binary migrates databases to.
func CurrentSchema() uint64 { return uint64(len(migrations)) }
