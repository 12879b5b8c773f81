package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"time"

	bolt "go.etcd.io/bbolt"
)

// pruneBatch is the most deletions one pruning transaction makes, so an
// upload waiting for the write lock waits for at most one batch (about a
// millisecond of bbolt work) and never for a whole sweep.
const pruneBatch = 1000

// reservationIdle is how long a token's in-memory use count is kept after
// its last upload; the next upload reloads it from the token record.
const reservationIdle = 10 * time.Minute

// PruneStats counts what one Prune deleted.
type PruneStats struct {
	Tokens       int // upload tokens expired longer than Options.TokenGrace
	JTIs         int // consumed upload-JWT ids past their JWT's expiry and a window
	Reservations int // idle in-memory token use counts
	Events       int // raw events older than Options.EventRetention
	GatewayReads int // per-CID daily gateway read sums older than the retention
}

// Prune deletes what the store no longer needs, in transactions of at
// most pruneBatch deletions with a yield between them. The background
// pruner runs it every Options.PruneInterval; tests call it directly.
func (s *Store) Prune(ctx context.Context) (PruneStats, error) {
	var st PruneStats
	if s.opts.ReadOnly {
		return st, nil
	}
	now := s.now()
	var err error
	if st.Tokens, err = s.pruneBefore(ctx, bucketTokExpiry, nanos(now.Add(-s.opts.TokenGrace)), s.deleteToken); err != nil {
		return st, fmt.Errorf("prune tokens: %w", err)
	}
	if st.Tokens > 0 {
		s.creds.invalidate() // a deleted token must not be served from the cache
	}
	if st.JTIs, err = s.pruneBefore(ctx, bucketJTIExpiry, nanos(now.Add(-jtiWindow)), deleteJTI); err != nil {
		return st, fmt.Errorf("prune jtis: %w", err)
	}
	retain := now.Add(-s.opts.EventRetention)
	if st.Events, err = s.pruneBefore(ctx, bucketEvents, nanos(retain), nil); err != nil {
		return st, fmt.Errorf("prune events: %w", err)
	}
	// A day's read sums go once the whole day is past the retention.
	if st.GatewayReads, err = s.pruneBefore(ctx, bucketGWReads, int64(dayOf(retain)), nil); err != nil {
		return st, fmt.Errorf("prune gateway reads: %w", err)
	}
	st.Reservations = s.res.pruneIdle(now.Add(-reservationIdle))
	return st, nil
}

// pruneBefore deletes the keys of a time-ordered bucket whose leading
// time (8 bytes of unix nanos, or 4 of days for gwreads/) is before
// cutoff, with del (if any) deleting what each key stands for.
func (s *Store) pruneBefore(ctx context.Context, bucket []byte, cutoff int64, del func(tx *bolt.Tx, key []byte) error) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n := 0
		err := s.update(func(tx *bolt.Tx) error {
			n = 0
			b := tx.Bucket(bucket)
			var keys [][]byte
			c := b.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < pruneBatch && leadingTime(bucket, k) < cutoff; k, _ = c.Next() {
				keys = append(keys, bytes.Clone(k))
			}
			for _, k := range keys {
				if del != nil {
					if err := del(tx, k); err != nil {
						return err
					}
				}
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
		runtime.Gosched() // let the writers queued on the lock in
	}
}

func leadingTime(bucket, k []byte) int64 {
	if bytes.Equal(bucket, bucketGWReads) {
		if len(k) < 4 {
			return -1
		}
		return int64(binary.BigEndian.Uint32(k))
	}
	if len(k) < 8 {
		return -1 // not a time key: damaged; delete it
	}
	return int64(binary.BigEndian.Uint64(k))
}

// deleteToken deletes the token a tokexpiry/ key names, with its hash and
// account index entries.
func (s *Store) deleteToken(tx *bolt.Tx, key []byte) error {
	if len(key) < 8 {
		return nil
	}
	id := key[8:]
	tb := tx.Bucket(bucketTokens)
	var t Token
	if err := getJSON(tb, id, &t); err != nil {
		if err == ErrNotFound {
			return nil
		}
		return err
	}
	if err := tx.Bucket(bucketTokHash).Delete(t.Hash); err != nil {
		return err
	}
	if err := delRecordIndex(tx, bucketToksByAcct, t.AccountID, t.Created, t.ID); err != nil {
		return err
	}
	s.res.forget(t.ID)
	return tb.Delete(id)
}

// deleteJTI deletes the consumed jti a jtiexpiry/ key names.
func deleteJTI(tx *bolt.Tx, key []byte) error {
	if len(key) < 8 {
		return nil
	}
	return tx.Bucket(bucketJTIs).Delete(key[8:])
}

func (s *Store) runPruner(ctx context.Context, every time.Duration) {
	defer s.wg.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			st, err := s.Prune(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("store: prune", "err", err)
			}
			if st != (PruneStats{}) {
				s.log.Debug("store: pruned", "tokens", st.Tokens, "jtis", st.JTIs, "events", st.Events,
					"gatewayReads", st.GatewayReads, "reservations", st.Reservations)
			}
		}
	}
}
