package pinning

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ninja-ipfs/ninja/store"
)

// sweepBatch is how many expired uploads one sweep deletes before it
// looks again, so one sweep's reads stay small.
const sweepBatch = 100

// runSweeper deletes expired resumable uploads every SweepInterval until
// ctx is done, starting with files no open upload owns (a crash between
// deleting a record and its file).
func (s *Service) runSweeper(ctx context.Context) {
	defer s.wg.Done()
	if err := s.removeOrphans(); err != nil {
		s.log.Error("resumable uploads: remove orphan files", "err", err)
	}
	if s.tus.cfg.SweepInterval < 0 {
		return
	}
	tick := time.NewTicker(s.tus.cfg.SweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := s.SweepResumables(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("resumable uploads: sweep", "err", err)
			}
		}
	}
}

// SweepResumables deletes the resumable uploads whose time is up: an
// incomplete one's bytes and record (its token use released, and counted
// as an UPLOAD_EXPIRED failure), a completed one's record. An upload being
// written is left for the next sweep. It returns how many it deleted.
func (s *Service) SweepResumables(ctx context.Context) (int, error) {
	if s.tus == nil {
		return 0, nil
	}
	n := 0
	for {
		expired, err := s.store.ExpiredTusUploads(s.now(), sweepBatch)
		if err != nil {
			return n, err
		}
		swept := 0
		for _, rec := range expired {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			unlock, ok := s.tus.locks.tryLock(rec.ID)
			if !ok {
				continue
			}
			err := s.dropResumable(rec)
			unlock()
			if err != nil {
				return n, err
			}
			if rec.Open() && rec.TokenID != "" {
				s.store.RecordFailure(rec.TokenID, "UPLOAD_EXPIRED")
			}
			n++
			swept++
		}
		if len(expired) < sweepBatch || swept == 0 {
			return n, nil
		}
	}
}

// removeOrphans deletes the files in the directory that no open upload
// owns.
func (s *Service) removeOrphans() error {
	entries, err := os.ReadDir(s.tus.cfg.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		id := e.Name()
		if !strings.HasPrefix(id, "tus_") {
			continue // not ours
		}
		rec, err := s.store.TusUpload(id)
		if err == nil && rec.Open() {
			continue
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := os.Remove(s.tus.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// keyedMutex is one mutex per resumable upload, created on first use and
// dropped when nobody holds or waits for it.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) entry(id string) *keyedEntry {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.m[id]
	if e == nil {
		e = &keyedEntry{}
		k.m[id] = e
	}
	e.refs++
	return e
}

func (k *keyedMutex) unref(id string, e *keyedEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e.refs--; e.refs == 0 {
		delete(k.m, id)
	}
}

// lock locks id and returns its unlock.
func (k *keyedMutex) lock(id string) func() {
	e := k.entry(id)
	e.mu.Lock()
	return func() { e.mu.Unlock(); k.unref(id, e) }
}

// tryLock locks id unless someone holds it.
func (k *keyedMutex) tryLock(id string) (func(), bool) {
	e := k.entry(id)
	if !e.mu.TryLock() {
		k.unref(id, e)
		return nil, false
	}
	return func() { e.mu.Unlock(); k.unref(id, e) }, true
}
