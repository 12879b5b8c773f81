package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Replication to an IPFS Cluster (schema 7). The Cluster holds one pin per
// CID; ninja holds the per-account pins and their reference counts
// (cidrefs/). When Options.ClusterOutbox is set, the transaction in which a
// CID gains its first pinned pin (of any account) appends a "pin" operation
// to the outbox, and the one in which it loses its last appends an
// "unpin": the operation is durable exactly when the pin record is, so a
// restart never loses one, and the upload's commit never waits on the
// Cluster. The domain's worker drains the outbox in order.
//
//	clusterout/  seq(8) -> ClusterOp (JSON)       (bucket sequence: commit order)
//	clusterrep/  cid -> Replication (JSON)         (the Cluster's last reported state of the CID)
var (
	bucketClusterOut = []byte("clusterout")
	bucketClusterRep = []byte("clusterrep")
)

func createClusterBuckets(tx *bolt.Tx) error {
	return createBuckets(tx, bucketClusterOut, bucketClusterRep)
}

// Cluster operations.
const (
	ClusterPin   = "pin"
	ClusterUnpin = "unpin"
)

// ClusterOp is one Cluster call waiting in the outbox.
type ClusterOp struct {
	Seq uint64 `json:"-"`
	Op  string `json:"op"` // ClusterPin or ClusterUnpin
	CID string `json:"cid"`
	// Account, Request and Name are the pin that made the CID appear
	// (a pin operation's metadata on the Cluster).
	Account   string    `json:"account,omitempty"`
	Request   string    `json:"request,omitempty"`
	Name      string    `json:"name,omitempty"`
	Attempts  int       `json:"attempts,omitempty"`
	NextTry   time.Time `json:"nextTry,omitzero"`
	LastError string    `json:"lastError,omitempty"`
	Queued    time.Time `json:"queued"`
}

// Replication is what the Cluster last reported about a CID.
type Replication struct {
	Pinned  int       `json:"pinned"`          // peers reporting it pinned
	Peers   []string  `json:"peers,omitempty"` // their peer names (or ids)
	Checked time.Time `json:"checked"`
	// Since is when the CID was first seen pinned on at least
	// replication-min peers (zero: not yet); local retention counts from
	// the later of it and the pin's creation.
	Since time.Time `json:"since,omitzero"`
}

// heldCID reports whether cid has at least one pinned pin (any account).
func heldCID(tx *bolt.Tx, cid string) (bool, error) {
	r, err := readCID(tx, cid)
	return len(r.owners) > 0, err
}

// clusterEdge appends the outbox operation for a pin write of cid that
// changed whether any account holds it. It is a no-op without
// Options.ClusterOutbox, and before migration 7 (a migration rebuilding
// ownership runs before the bucket exists).
func (s *Store) clusterEdge(tx *bolt.Tx, cid string, before bool, p *Pin) error {
	if !s.opts.ClusterOutbox {
		return nil
	}
	out := tx.Bucket(bucketClusterOut)
	if out == nil {
		return nil
	}
	after, err := heldCID(tx, cid)
	if err != nil || after == before {
		return err
	}
	op := ClusterOp{Op: ClusterUnpin, CID: cid, Queued: s.now().UTC()}
	if after {
		op.Op, op.Account, op.Request, op.Name = ClusterPin, p.AccountID, p.ID, p.Name
	} else if err := tx.Bucket(bucketClusterRep).Delete([]byte(cid)); err != nil {
		return err
	}
	return appendClusterOp(out, &op)
}

func appendClusterOp(out *bolt.Bucket, op *ClusterOp) error {
	seq, err := out.NextSequence()
	if err != nil {
		return err
	}
	op.Seq = seq
	return putJSON(out, u64(seq), op)
}

// EnqueueClusterOps appends operations to the outbox (the reconciler's
// repairs) and returns them with their sequence numbers.
func (s *Store) EnqueueClusterOps(ops []ClusterOp) ([]ClusterOp, error) {
	err := s.update(func(tx *bolt.Tx) error {
		out := tx.Bucket(bucketClusterOut)
		for i := range ops {
			if ops[i].Queued.IsZero() {
				ops[i].Queued = s.now().UTC()
			}
			if err := appendClusterOp(out, &ops[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue cluster ops: %w", err)
	}
	return ops, nil
}

// ClusterOutbox returns up to limit operations in commit order (0: all).
func (s *Store) ClusterOutbox(limit int) ([]ClusterOp, error) {
	var ops []ClusterOp
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketClusterOut).Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(ops) < limit); k, v = c.Next() {
			var op ClusterOp
			if err := json.Unmarshal(v, &op); err != nil || len(k) != 8 {
				return fmt.Errorf("%w: cluster outbox entry %x does not decode", ErrCorrupt, k)
			}
			op.Seq = binary.BigEndian.Uint64(k)
			ops = append(ops, op)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cluster outbox: %w", err)
	}
	return ops, nil
}

// ClusterOutboxLen is the number of operations waiting.
func (s *Store) ClusterOutboxLen() (int, error) {
	var n int
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketClusterOut).Stats().KeyN
		return nil
	})
	return n, err
}

// ClusterOpDone deletes a delivered operation.
func (s *Store) ClusterOpDone(seq uint64) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketClusterOut).Delete(u64(seq)) })
}

// ClusterOpRetry records a failed attempt: the count, the error and when
// to try again. An operation deleted meanwhile stays deleted.
func (s *Store) ClusterOpRetry(seq uint64, attempts int, next time.Time, lastErr string) error {
	return s.update(func(tx *bolt.Tx) error {
		out := tx.Bucket(bucketClusterOut)
		var op ClusterOp
		if err := getJSON(out, u64(seq), &op); err == ErrNotFound {
			return nil
		} else if err != nil {
			return err
		}
		op.Attempts, op.NextTry, op.LastError = attempts, next.UTC(), lastErr
		return putJSON(out, u64(seq), &op)
	})
}

// HeldCIDs calls fn with every CID that at least one pinned pin of any
// account names (what the Cluster should hold). The read transaction ends
// before fn runs.
func (s *Store) HeldCIDs(fn func(cid string) error) error {
	var cids []string
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCIDRefs).ForEach(func(k, _ []byte) error {
			r, err := readCID(tx, string(k))
			if err != nil {
				return err
			}
			if len(r.owners) > 0 {
				cids = append(cids, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("held cids: %w", err)
	}
	for _, c := range cids {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// Held reports whether any account holds a pinned pin of cid.
func (s *Store) Held(cid string) (bool, error) {
	var held bool
	err := s.view(func(tx *bolt.Tx) (err error) {
		held, err = heldCID(tx, cid)
		return err
	})
	return held, err
}

// SetReplication records what the Cluster reported about cid; min is
// replication-min, for Replication.Since. A CID no pin holds is not
// recorded (and its record is deleted).
func (s *Store) SetReplication(cid string, r Replication, min int) error {
	return s.SetReplications(map[string]Replication{cid: r}, min)
}

// SetReplications is SetReplication for many CIDs in one transaction (the
// reconciler's pass). A record whose count and peers did not change is
// not rewritten, and a pass that changes nothing writes nothing.
func (s *Store) SetReplications(reps map[string]Replication, min int) error {
	type put struct {
		cid string
		r   *Replication // nil: delete
	}
	var puts []put
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClusterRep)
		for cid, r := range reps {
			held, err := heldCID(tx, cid)
			if err != nil {
				return err
			}
			var old Replication
			err = getJSON(b, []byte(cid), &old)
			if err != nil && err != ErrNotFound {
				return err
			}
			if !held {
				if err == nil {
					puts = append(puts, put{cid, nil})
				}
				continue
			}
			if r.Checked.IsZero() {
				r.Checked = s.now().UTC()
			}
			switch {
			case r.Pinned < max(min, 1):
				r.Since = time.Time{}
			case !old.Since.IsZero():
				r.Since = old.Since
			default:
				r.Since = r.Checked
			}
			if err == nil && old.Pinned == r.Pinned && slices.Equal(old.Peers, r.Peers) && old.Since.Equal(r.Since) {
				continue
			}
			puts = append(puts, put{cid, &r})
		}
		return nil
	})
	if err != nil || len(puts) == 0 {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClusterRep)
		for _, p := range puts {
			if p.r == nil {
				if err := b.Delete([]byte(p.cid)); err != nil {
					return err
				}
				continue
			}
			// A CID whose last pin went between the read and now has no
			// record to keep.
			if held, err := heldCID(tx, p.cid); err != nil {
				return err
			} else if !held {
				continue
			}
			if err := putJSON(b, []byte(p.cid), p.r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Replications returns the recorded replication of each CID that has one.
func (s *Store) Replications(cids []string) (map[string]Replication, error) {
	out := make(map[string]Replication, len(cids))
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClusterRep)
		for _, c := range cids {
			var r Replication
			if err := getJSON(b, []byte(c), &r); err == ErrNotFound {
				continue
			} else if err != nil {
				return err
			}
			out[c] = r
		}
		return nil
	})
	return out, err
}

// ReplicatedSince calls fn with every CID recorded as pinned on at least
// replication-min Cluster peers, and since when.
func (s *Store) ReplicatedSince(fn func(cid string, since time.Time) error) error {
	type rec struct {
		cid   string
		since time.Time
	}
	var recs []rec
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketClusterRep).ForEach(func(k, v []byte) error {
			var r Replication
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: replication record %q does not decode", ErrCorrupt, k)
			}
			if !r.Since.IsZero() {
				recs = append(recs, rec{string(bytes.Clone(k)), r.Since})
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("replicated cids: %w", err)
	}
	for _, r := range recs {
		if err := fn(r.cid, r.since); err != nil {
			return err
		}
	}
	return nil
}
