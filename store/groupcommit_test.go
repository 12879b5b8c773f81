package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// startBlockedCommit starts a batch whose function holds its transaction
// open until release is closed, and returns once it runs: callers that
// arrive meanwhile queue behind it.
func startBlockedCommit(t *testing.T, s *Store, bucket []byte) (release chan struct{}, done chan error) {
	t.Helper()
	release, done, running := make(chan struct{}), make(chan error, 1), make(chan struct{})
	go func() {
		done <- s.batch(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return err
			}
			close(running)
			<-release
			return b.Put([]byte("first"), []byte("1"))
		})
	}()
	<-running
	return release, done
}

// waitQueued waits until n callers are queued for the next commit.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.group.mu.Lock()
		q := len(s.group.queue)
		s.group.mu.Unlock()
		if q >= n {
			return
		}
	}
	t.Fatalf("fewer than %d callers queued after 10s", n)
}

// Callers that arrive while a commit runs share the next one: one
// transaction for all of them, and every write is there afterwards.
func TestWritersThatQueueShareOneCommit(t *testing.T) {
	s, _ := openTest(t, time.Now)
	bucket := []byte("test-group")
	release, firstDone := startBlockedCommit(t, s, bucket)

	const n = 20
	var wg sync.WaitGroup
	txIDs := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.batch(func(tx *bolt.Tx) error {
				txIDs[i] = tx.ID()
				return tx.Bucket(bucket).Put(fmt.Appendf(nil, "k%02d", i), []byte("v"))
			})
		})
	}
	waitQueued(t, s, n)
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if txIDs[i] != txIDs[0] {
			t.Fatalf("caller %d committed in transaction %d, caller 0 in %d: the queue was not one commit", i, txIDs[i], txIDs[0])
		}
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for i := range n {
			if b.Get(fmt.Appendf(nil, "k%02d", i)) == nil {
				return fmt.Errorf("k%02d was acknowledged but is not in the database", i)
			}
		}
		if b.Get([]byte("first")) == nil {
			return errors.New("the first commit's write is missing")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	if s.group.running || len(s.group.queue) != 0 {
		t.Fatalf("after the last commit: running=%v, %d queued", s.group.running, len(s.group.queue))
	}
}

// A function that fails, or panics, in a shared commit fails its own
// caller only: its write is not there, the others' are.
func TestAFailingWriterFailsOnlyItsOwnCall(t *testing.T) {
	s, _ := openTest(t, time.Now)
	bucket := []byte("test-group")
	release, firstDone := startBlockedCommit(t, s, bucket)

	errRefused := errors.New("refused")
	const n = 9
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.batch(func(tx *bolt.Tx) error {
				if err := tx.Bucket(bucket).Put(fmt.Appendf(nil, "k%d", i), []byte("v")); err != nil {
					return err
				}
				switch i {
				case 3:
					return errRefused
				case 6:
					panic("damaged page")
				}
				return nil
			})
		})
	}
	waitQueued(t, s, n)
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case i == 3 && !errors.Is(err, errRefused):
			t.Fatalf("caller 3 got %v, want its own error", err)
		case i == 6 && !errors.Is(err, ErrCorrupt):
			t.Fatalf("caller 6 got %v, want ErrCorrupt for its panic", err)
		case i != 3 && i != 6 && err != nil:
			t.Fatalf("caller %d failed with a neighbour's error: %v", i, err)
		}
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for i := range n {
			got := b.Get(fmt.Appendf(nil, "k%d", i)) != nil
			if want := i != 3 && i != 6; got != want {
				return fmt.Errorf("k%d in the database: %v, want %v", i, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
