package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func openCluster(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	opts.ClusterOutbox = true
	opts.Timeout = 200 * time.Millisecond
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func outboxOps(t *testing.T, s *Store) []ClusterOp {
	t.Helper()
	ops, err := s.ClusterOutbox(0)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// The Cluster holds one pin per CID: ninja queues a pin when the CID's
// first pinned pin appears in any account and an unpin only when the last
// one, in any account, is deleted.
func TestClusterOutboxFollowsTheCIDsReferenceCountAcrossAccounts(t *testing.T) {
	s := openCluster(t, filepath.Join(t.TempDir(), "ninja.db"), Options{})
	defer s.Close(t.Context())
	a, _ := s.CreateAccount("a")
	b, _ := s.CreateAccount("b")
	const c = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
	pa, err := s.AddPins([]Pin{{AccountID: a.ID, CID: c, Name: "first", Size: 1}, {AccountID: a.ID, CID: c, Size: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := s.AddPins([]Pin{{AccountID: b.ID, CID: c, Size: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ops := outboxOps(t, s)
	if len(ops) != 1 || ops[0].Op != ClusterPin || ops[0].CID != c || ops[0].Account != a.ID || ops[0].Request != pa[0].ID || ops[0].Name != "first" {
		t.Fatalf("after three pins of one CID in two accounts the outbox holds %+v, want one pin naming the first", ops)
	}
	for _, del := range []struct{ acct, id string }{{a.ID, pa[0].ID}, {b.ID, pb[0].ID}} {
		if _, err := s.DeletePin(del.acct, del.id); err != nil {
			t.Fatal(err)
		}
		if ops := outboxOps(t, s); len(ops) != 1 {
			t.Fatalf("deleting a pin while others of the CID remain queued %+v", ops)
		}
	}
	if n, _ := s.RefCount(c); n != 1 {
		t.Fatalf("refcount %d, want 1", n)
	}
	if _, err := s.DeletePin(a.ID, pa[1].ID); err != nil {
		t.Fatal(err)
	}
	ops = outboxOps(t, s)
	if len(ops) != 2 || ops[1].Op != ClusterUnpin || ops[1].CID != c || ops[1].Seq <= ops[0].Seq {
		t.Fatalf("after the last pin went the outbox holds %+v, want pin then unpin", ops)
	}
	if held, _ := s.Held(c); held {
		t.Fatal("the CID is still held")
	}
}

// The operation is written by the pin's own transaction: a write that
// fails (here a quota refusal) queues nothing, and a queued pin by CID
// queues its Cluster pin only when it becomes pinned (the blocks are
// local then, for the Cluster to fetch from ninja).
func TestClusterOutboxIsWrittenInThePinsTransaction(t *testing.T) {
	s := openCluster(t, filepath.Join(t.TempDir(), "ninja.db"), Options{DefaultQuota: Quota{MaxPins: 1}})
	defer s.Close(t.Context())
	a, _ := s.CreateAccount("a")
	if _, err := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafkqaaa", Size: 1}, {AccountID: a.ID, CID: "bafkqaab", Size: 1}}, nil); !errors.Is(err, ErrLimit) {
		t.Fatalf("two pins over a one-pin quota: %v", err)
	}
	if ops := outboxOps(t, s); len(ops) != 0 {
		t.Fatalf("a refused write queued %+v", ops)
	}
	q, err := s.AddQueuedPin(Pin{AccountID: a.ID, CID: "bafkqaac", Status: StatusQueued})
	if err != nil {
		t.Fatal(err)
	}
	if ops := outboxOps(t, s); len(ops) != 0 {
		t.Fatalf("a queued pin by CID queued %+v", ops)
	}
	if _, err := s.UpdateQueuedPin(q.ID, func(p *Pin) error { p.Status = StatusPinned; return nil }); err != nil {
		t.Fatal(err)
	}
	if ops := outboxOps(t, s); len(ops) != 1 || ops[0].Op != ClusterPin || ops[0].CID != "bafkqaac" || ops[0].Request != q.ID {
		t.Fatalf("the pin by CID, once pinned, queued %+v", ops)
	}
}

// The outbox is in the database: a restart keeps every operation, its
// attempts and its next try; a delivered one is gone for good.
func TestClusterOutboxSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ninja.db")
	s := openCluster(t, path, Options{})
	a, _ := s.CreateAccount("a")
	for _, c := range []string{"bafkqaaa", "bafkqaab"} {
		if _, err := s.AddPins([]Pin{{AccountID: a.ID, CID: c, Size: 1}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ops := outboxOps(t, s)
	next := time.Now().Add(time.Minute).UTC().Truncate(time.Millisecond)
	if err := s.ClusterOpRetry(ops[0].Seq, 3, next, "connection refused"); err != nil {
		t.Fatal(err)
	}
	if err := s.ClusterOpDone(ops[1].Seq); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	s = openCluster(t, path, Options{})
	defer s.Close(t.Context())
	got := outboxOps(t, s)
	if len(got) != 1 || got[0].CID != "bafkqaaa" || got[0].Attempts != 3 || !got[0].NextTry.Equal(next) || got[0].LastError != "connection refused" {
		t.Fatalf("after a restart the outbox holds %+v", got)
	}
	if n, _ := s.ClusterOutboxLen(); n != 1 {
		t.Fatalf("outbox length %d", n)
	}
	// A new pin after the restart comes after the old ones.
	if _, err := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafkqaac", Size: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := outboxOps(t, s); len(got) != 2 || got[1].CID != "bafkqaac" || got[1].Seq <= got[0].Seq {
		t.Fatalf("outbox order after a restart: %+v", got)
	}
}

// Without a Cluster (ClusterOutbox off) nothing is queued.
func TestWithoutAClusterNothingIsQueued(t *testing.T) {
	s, _ := openTest(t, nil)
	a, _ := s.CreateAccount("a")
	p, err := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafkqaaa", Size: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeletePin(a.ID, p[0].ID); err != nil {
		t.Fatal(err)
	}
	if ops := outboxOps(t, s); len(ops) != 0 {
		t.Fatalf("queued %+v without a cluster", ops)
	}
}

// Replication records keep the time the CID first reached
// replication-min, and go with the CID's last pin.
func TestReplicationRecordsSinceAndGoWithTheCID(t *testing.T) {
	s := openCluster(t, filepath.Join(t.TempDir(), "ninja.db"), Options{})
	defer s.Close(t.Context())
	a, _ := s.CreateAccount("a")
	p, _ := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafkqaaa", Size: 1}}, nil)
	t0 := time.Now().UTC().Add(-time.Hour)
	if err := s.SetReplication("bafkqaaa", Replication{Pinned: 1, Checked: t0}, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReplication("bafkqaaa", Replication{Pinned: 2, Peers: []string{"p1", "p2"}, Checked: t0.Add(time.Minute)}, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReplication("bafkqaaa", Replication{Pinned: 3, Checked: t0.Add(2 * time.Minute)}, 2); err != nil {
		t.Fatal(err)
	}
	r, _ := s.Replications([]string{"bafkqaaa"})
	if got := r["bafkqaaa"]; got.Pinned != 3 || !got.Since.Equal(t0.Add(time.Minute)) {
		t.Fatalf("replication %+v, want since the second report", got)
	}
	if _, err := s.DeletePin(a.ID, p[0].ID); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Replications([]string{"bafkqaaa"}); len(r) != 0 {
		t.Fatalf("the record outlived the CID: %+v", r)
	}
}
