package pinning

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/cluster"
	"github.com/ninja-ipfs/ninja/store"
)

// Replication to an IPFS Cluster. ninja is the multi-tenant front door and
// the Cluster the replicated storage behind it: the Cluster holds one pin
// per CID, ninja the per-account pins and their reference count. The store
// appends a pin (unpin) operation to a persistent outbox in the very
// transaction in which a CID gains its first (loses its last) pinned pin
// across all accounts; the replicator here drains the outbox in order,
// retrying with exponential backoff, so an upload's 2xx never waits on the
// Cluster (unless AckReplicas asks it to) and a restart loses nothing. The
// reconciler compares ninja's CIDs with the Cluster's pin set every
// ReconcileInterval and repairs both directions: a CID ninja holds that the
// Cluster lacks is pinned, and a Cluster pin that carries this ninja's
// marker (metadata ninja=<peer id>) but that no ninja pin holds is
// unpinned. Pins of other users of the same Cluster are never touched.

// ErrReplicationTimeout means an upload's pins are recorded but fewer than
// AckReplicas Cluster peers reported them pinned within AckTimeout.
var ErrReplicationTimeout = errors.New("replication timeout")

// Cluster is what the domain needs from the Cluster's REST API
// (*cluster.Client).
type Cluster interface {
	Pin(ctx context.Context, cid string, opts cluster.PinOptions) (cluster.Pin, error)
	Unpin(ctx context.Context, cid string) error
	Status(ctx context.Context, cid string) (cluster.Status, error)
	StatusAll(ctx context.Context, fn func(cluster.Status) error) error
}

// ClusterStore is what the replicator needs from the store (*store.Store).
type ClusterStore interface {
	ClusterOutbox(limit int) ([]store.ClusterOp, error)
	ClusterOutboxLen() (int, error)
	ClusterOpDone(seq uint64) error
	ClusterOpRetry(seq uint64, attempts int, next time.Time, lastErr string) error
	EnqueueClusterOps(ops []store.ClusterOp) ([]store.ClusterOp, error)
	HeldCIDs(fn func(cid string) error) error
	Held(cid string) (bool, error)
	SetReplication(cid string, r store.Replication, min int) error
	SetReplications(reps map[string]store.Replication, min int) error
	Replications(cids []string) (map[string]store.Replication, error)
	ReplicatedSince(fn func(cid string, since time.Time) error) error
}

// ClusterConfig configures replication; without a Client nothing
// Cluster-related starts.
type ClusterConfig struct {
	Client Cluster
	// ReplicationMin and ReplicationMax are the Cluster pin's replication
	// factors; 0 means the Cluster's defaults.
	ReplicationMin, ReplicationMax int
	// AckReplicas makes an upload wait until this many Cluster peers
	// report its pins pinned, up to AckTimeout (0: 2 minutes); 0 never
	// waits.
	AckReplicas int
	AckTimeout  time.Duration
	// ReconcileInterval is how often ninja's CIDs are compared with the
	// Cluster's pin set; 0 means 5 minutes.
	ReconcileInterval time.Duration
	// Evict lets GC drop the local blocks of a CID once it is pinned on at
	// least ReplicationMin (at least 1) Cluster peers for LocalRetention.
	Evict          bool
	LocalRetention time.Duration
	// LocalCacheBytes bounds the blocks fetched back from the Cluster
	// that are kept locally (the node's read-through cache).
	LocalCacheBytes int64
	// RetryMin and RetryMax bound the outbox's backoff; 0 means 1s and 1m.
	RetryMin, RetryMax time.Duration
}

// replicator drains the outbox and reconciles.
type replicator struct {
	s     *Service
	cfg   ClusterConfig
	c     Cluster
	st    ClusterStore
	kick  chan struct{}
	watch chan string // CIDs just pinned on the Cluster, to follow to replication-min

	cached     atomic.Int64 // bytes fetched back since the last collection
	collecting atomic.Bool
	gcMu       sync.Mutex // guards closed and gcs' Add against close's Wait
	closed     bool
	gcs        sync.WaitGroup // the read-back cache's collections

	mu         sync.Mutex
	lastRepair int // CIDs the last reconciliation re-queued (tests, docs)
	reconciled chan struct{}
}

func newReplicator(s *Service, cfg ClusterConfig) (*replicator, error) {
	st, ok := s.store.(ClusterStore)
	if !ok {
		return nil, errors.New("the store keeps no cluster outbox")
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 2 * time.Minute
	}
	if cfg.ReconcileInterval <= 0 {
		cfg.ReconcileInterval = 5 * time.Minute
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = time.Minute
	}
	if cfg.ReplicationMax != 0 && cfg.ReplicationMin > cfg.ReplicationMax && cfg.ReplicationMax > 0 {
		return nil, fmt.Errorf("replication-min %d is above replication-max %d", cfg.ReplicationMin, cfg.ReplicationMax)
	}
	if cfg.AckReplicas < 0 {
		return nil, fmt.Errorf("ack-replicas must not be negative")
	}
	if cfg.ReplicationMax > 0 && cfg.AckReplicas > cfg.ReplicationMax {
		s.log.Warn("cluster: --ack-replicas is above --replication-max: every upload will wait for --ack-timeout and get 504",
			"ack_replicas", cfg.AckReplicas, "replication_max", cfg.ReplicationMax)
	}
	return &replicator{s: s, cfg: cfg, c: cfg.Client, st: st, kick: make(chan struct{}, 1),
		watch: make(chan string, 1024), reconciled: make(chan struct{}, 1)}, nil
}

func (r *replicator) start(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(3)
	go func() { defer wg.Done(); r.drain(ctx) }()
	go func() { defer wg.Done(); r.follow(ctx) }()
	go func() { defer wg.Done(); r.reconcileLoop(ctx) }()
}

// poke wakes the outbox worker (after a commit that may have queued).
func (r *replicator) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// minPeers is how many peers count as replicated.
func (r *replicator) minPeers() int { return max(r.cfg.ReplicationMin, 1) }

func (r *replicator) pinOptions(op store.ClusterOp) cluster.PinOptions {
	meta := map[string]string{"ninja": r.s.node.PeerID()}
	if op.Account != "" {
		meta["account"] = op.Account
	}
	if op.Request != "" {
		meta["request"] = op.Request
	}
	return cluster.PinOptions{ReplicationMin: r.cfg.ReplicationMin, ReplicationMax: r.cfg.ReplicationMax,
		Name: op.Name, Origins: r.s.node.Addrs(), Metadata: meta}
}

// drain sends the outbox's operations in order until ctx is done. An
// operation that fails is retried after an exponential backoff with
// jitter; later operations of the same CID wait behind it (so a pin and
// the unpin after it never swap), others go on.
func (r *replicator) drain(ctx context.Context) {
	for {
		wait := r.drainOnce(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// drainOnce sends what is due and returns how long to sleep.
func (r *replicator) drainOnce(ctx context.Context) time.Duration {
	// Idle, the outbox is read once a second (one read transaction):
	// the writers of pins need not know about the replicator.
	const idle = time.Second
	ops, err := r.st.ClusterOutbox(1000)
	if err != nil {
		r.s.log.Error("cluster outbox", "err", err)
		return r.cfg.RetryMax
	}
	next := idle
	progress := false
	blocked := map[string]bool{}
	for _, op := range ops {
		if ctx.Err() != nil {
			return 0
		}
		if blocked[op.CID] {
			continue
		}
		now := r.s.now()
		if op.NextTry.After(now) {
			blocked[op.CID] = true
			next = min(next, op.NextTry.Sub(now))
			continue
		}
		if err := r.send(ctx, op); err != nil {
			if ctx.Err() != nil {
				return 0
			}
			blocked[op.CID] = true
			d := r.backoff(op.Attempts + 1)
			next = min(next, d)
			r.s.log.Warn("cluster: operation failed, will retry", "op", op.Op, "cid", op.CID, "attempt", op.Attempts+1, "retry_in", d, "err", err)
			if err := r.st.ClusterOpRetry(op.Seq, op.Attempts+1, now.Add(d), err.Error()); err != nil {
				r.s.log.Error("cluster outbox", "err", err)
			}
			var answer *cluster.StatusError
			if !errors.As(err, &answer) {
				// Not reached: the rest would fail alike. Wait out this
				// operation's backoff before trying anything again.
				return d
			}
			continue
		}
		progress = true
		if err := r.st.ClusterOpDone(op.Seq); err != nil {
			r.s.log.Error("cluster outbox", "err", err)
		}
	}
	if len(ops) == 1000 && progress {
		return 0 // more behind these
	}
	return next
}

func (r *replicator) backoff(attempts int) time.Duration {
	d := r.cfg.RetryMin
	for i := 1; i < attempts && d < r.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, r.cfg.RetryMax)
	return d/2 + rand.N(d/2+1) // jitter: a Cluster back up is not hit by every ninja at once
}

func (r *replicator) send(ctx context.Context, op store.ClusterOp) error {
	switch op.Op {
	case store.ClusterPin:
		if _, err := r.c.Pin(ctx, op.CID, r.pinOptions(op)); err != nil {
			return err
		}
		select {
		case r.watch <- op.CID:
		default: // the reconciler records it later
		}
		return nil
	case store.ClusterUnpin:
		// The outbox is in order: an unpin queued after a pin went. A CID
		// held again has a newer pin operation after this one.
		err := r.c.Unpin(ctx, op.CID)
		if errors.Is(err, cluster.ErrNotFound) {
			return nil
		}
		return err
	}
	r.s.log.Error("cluster outbox: unknown operation, dropped", "op", op.Op, "cid", op.CID)
	return nil
}

// follow polls the status of CIDs just pinned on the Cluster until they
// reach replication-min (or 10 minutes pass), recording it, so status
// reports and local retention need not wait for the next reconciliation.
func (r *replicator) follow(ctx context.Context) {
	type watched struct{ until time.Time }
	pending := map[string]watched{}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-r.watch:
			pending[c] = watched{until: time.Now().Add(10 * time.Minute)}
			continue
		case <-t.C:
		}
		for c, w := range pending {
			st, err := r.c.Status(ctx, c)
			if err != nil {
				if time.Now().After(w.until) {
					delete(pending, c)
				}
				continue
			}
			n := r.record(c, st)
			if n >= r.minPeers() || time.Now().After(w.until) {
				delete(pending, c)
			}
		}
	}
}

// record stores a status report and returns the number of pinned peers.
func (r *replicator) record(c string, st cluster.Status) int {
	peers := st.Pinned()
	if err := r.st.SetReplication(c, store.Replication{Pinned: len(peers), Peers: peers, Checked: r.s.now().UTC()}, r.minPeers()); err != nil {
		r.s.log.Error("cluster: record replication", "cid", c, "err", err)
	}
	return len(peers)
}

func (r *replicator) reconcileLoop(ctx context.Context) {
	// First pass soon after the start: a Cluster that lost pins, or pins
	// made while it was configured off, are repaired without waiting.
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := r.reconcile(ctx); err != nil && ctx.Err() == nil {
			r.s.log.Warn("cluster: reconcile", "err", err)
		} else if n > 0 {
			r.s.log.Info("cluster: reconcile repaired", "operations", n)
		}
		t.Reset(r.cfg.ReconcileInterval)
	}
}

// Reconcile compares ninja's CIDs with the Cluster's pin set once and
// queues the repairs; it returns how many it queued. CIDs with an
// operation in the outbox are left to it.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	if s.repl == nil {
		return 0, fmt.Errorf("%w: no cluster is configured", ErrUnavailable)
	}
	return s.repl.reconcile(ctx)
}

func (r *replicator) reconcile(ctx context.Context) (int, error) {
	queued := map[string]bool{}
	ops, err := r.st.ClusterOutbox(0)
	if err != nil {
		return 0, err
	}
	for _, op := range ops {
		queued[op.CID] = true
	}
	onCluster := map[string]bool{}
	var unpin []store.ClusterOp
	reps := map[string]store.Replication{}
	flush := func() error {
		if len(reps) == 0 {
			return nil
		}
		err := r.st.SetReplications(reps, r.minPeers())
		clear(reps)
		return err
	}
	me := r.s.node.PeerID()
	err = r.c.StatusAll(ctx, func(st cluster.Status) error {
		onCluster[st.CID] = true
		if queued[st.CID] {
			return nil
		}
		held, err := r.st.Held(st.CID)
		if err != nil {
			return err
		}
		if held {
			reps[st.CID] = store.Replication{Pinned: len(st.Pinned()), Peers: st.Pinned(), Checked: r.s.now().UTC()}
			if len(reps) >= 1000 {
				return flush()
			}
			return nil
		}
		if st.Metadata["ninja"] == me {
			unpin = append(unpin, store.ClusterOp{Op: store.ClusterUnpin, CID: st.CID})
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return 0, err
	}
	var repair []store.ClusterOp
	err = r.st.HeldCIDs(func(c string) error {
		if !onCluster[c] && !queued[c] {
			repair = append(repair, store.ClusterOp{Op: store.ClusterPin, CID: c})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	repair = append(repair, unpin...)
	if len(repair) > 0 {
		if _, err := r.st.EnqueueClusterOps(repair); err != nil {
			return 0, err
		}
		r.poke()
	}
	r.mu.Lock()
	r.lastRepair = len(repair)
	r.mu.Unlock()
	select {
	case r.reconciled <- struct{}{}:
	default:
	}
	return len(repair), nil
}

// awaitReplicas waits until AckReplicas Cluster peers report every pin's
// CID pinned.
func (r *replicator) awaitReplicas(ctx context.Context, pins []store.Pin) error {
	n := r.cfg.AckReplicas
	if n <= 0 {
		return nil
	}
	r.poke()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.AckTimeout)
	defer cancel()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for _, p := range pins {
		got := 0
		for {
			st, err := r.c.Status(ctx, p.CID)
			if err == nil {
				if got = r.record(p.CID, st); got >= n {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w: %s is pinned on %d of the %d Cluster peers asked for after %v; the pin is recorded and replication continues in the background",
					ErrReplicationTimeout, p.CID, got, n, r.cfg.AckTimeout)
			case <-t.C:
			}
		}
	}
	return nil
}

// Replication is a pin's state on the Cluster, as last reported.
type Replication struct {
	Pinned  int       // peers that report it pinned
	Min     int       // replication-min (at least 1)
	Peers   []string  // their Cluster peer ids
	Checked time.Time // when the Cluster last reported it
}

// Replications returns the last reported replication of cids; nil
// without a Cluster (the dialects then leave their fields out).
func (s *Service) Replications(cids []string) map[string]Replication {
	if s.repl == nil {
		return nil
	}
	recs, err := s.repl.st.Replications(cids)
	if err != nil {
		s.log.Warn("cluster: read replication", "err", err)
		return nil
	}
	out := make(map[string]Replication, len(cids))
	for _, c := range cids {
		r := recs[c]
		out[c] = Replication{Pinned: r.Pinned, Min: s.repl.minPeers(), Peers: r.Peers, Checked: r.Checked}
	}
	return out
}

// ClusterStats reports the outbox's length; ok is false without a Cluster.
func (s *Service) ClusterStats() (outbox int, ok bool) {
	if s.repl == nil {
		return 0, false
	}
	n, err := s.repl.st.ClusterOutboxLen()
	if err != nil {
		return -1, true
	}
	return n, true
}

// evictable returns the CIDs whose local blocks GC may drop: pinned on at
// least replication-min Cluster peers for the local retention.
func (r *replicator) evictable() (map[string]bool, error) {
	if !r.cfg.Evict {
		return nil, nil
	}
	out := map[string]bool{}
	now := r.s.now()
	err := r.st.ReplicatedSince(func(c string, since time.Time) error {
		if now.Sub(since) >= r.cfg.LocalRetention {
			out[c] = true
		}
		return nil
	})
	return out, err
}

// remotePeers is the node's RemoteSource.Peers: a root that a pin names
// may be read back from the IPFS daemons of the Cluster peers that report
// it pinned; any other root stays local-only.
func (r *replicator) remotePeers(ctx context.Context, root cid.Cid) ([]string, bool) {
	held, err := r.st.Held(root.String())
	if err != nil || !held {
		return nil, false
	}
	st, err := r.c.Status(ctx, root.String())
	if err != nil {
		r.s.log.Warn("cluster: status for a read of an evicted CID", "cid", root, "err", err)
		return nil, true // peers already connected may still have it
	}
	var addrs []string
	for _, p := range st.PeerMap {
		if p.Status != "pinned" {
			continue
		}
		for _, a := range p.IPFSAddr {
			if !strings.Contains(a, "/p2p/") && p.IPFS != "" {
				a += "/p2p/" + p.IPFS
			}
			addrs = append(addrs, a)
		}
	}
	return addrs, true
}

// fetched is the node's RemoteSource.Fetched: the blocks read back are
// unpinned, so a collection drops them; one runs whenever more than
// LocalCacheBytes came in since the last, which bounds the cache.
func (r *replicator) fetched(n int) {
	limit := r.cfg.LocalCacheBytes
	if limit <= 0 {
		limit = 256 << 20
	}
	if r.cached.Add(int64(n)) < limit || !r.collecting.CompareAndSwap(false, true) {
		return
	}
	r.gcMu.Lock()
	defer r.gcMu.Unlock()
	if r.closed {
		r.collecting.Store(false)
		return
	}
	r.gcs.Add(1)
	go func() {
		defer r.gcs.Done()
		defer r.collecting.Store(false)
		r.cached.Store(0)
		if _, err := r.s.CollectGarbage(r.s.bg); err != nil && r.s.bg.Err() == nil {
			r.s.log.Warn("cluster: collect the read-back cache", "err", err)
		}
	}()
}

// close waits for a read-back collection in progress (after the
// service's background context was cancelled, so it stops soon).
func (r *replicator) close() {
	r.gcMu.Lock()
	r.closed = true
	r.gcMu.Unlock()
	r.gcs.Wait()
}
