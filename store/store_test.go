package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTest(t *testing.T, now func() time.Time) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ninja.db")
	s, err := Open(path, Options{Now: now, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(t.Context()) })
	return s, path
}

func TestASecondOpenFailsFastWithErrLocked(t *testing.T) {
	_, path := openTest(t, nil)
	start := time.Now()
	_, err := Open(path, Options{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || time.Since(start) > 5*time.Second {
		t.Fatalf("second open: %v after %v, want ErrLocked at once", err, time.Since(start))
	}
}

func TestReopeningKeepsRecordsAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ninja.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.CreateAccount("acme")
	if _, err := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafkqaaa", Size: 3}}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close(t.Context())
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	pins, n, err := s.ListPins(a.ID, PinFilter{})
	if err != nil || n != 1 || pins[0].CID != "bafkqaaa" || pins[0].Status != StatusPinned {
		t.Fatalf("after reopen: %v %d %v", pins, n, err)
	}
	var buf bytes.Buffer
	if size, err := s.Backup(&buf); err != nil || size == 0 || int64(buf.Len()) != size {
		t.Fatalf("backup: %d bytes, %v", size, err)
	}
}

func TestPinCreationTimesAreUniqueAndPageNewestFirst(t *testing.T) {
	frozen := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	s, _ := openTest(t, func() time.Time { return frozen })
	a, _ := s.CreateAccount("a")
	b, _ := s.CreateAccount("b")
	var in []Pin
	for i := range 25 {
		in = append(in, Pin{AccountID: a.ID, CID: fmt.Sprintf("cid%02d", i), Name: fmt.Sprintf("file-%02d", i)})
	}
	if _, err := s.AddPins(in, nil); err != nil {
		t.Fatal(err)
	}
	s.AddPins([]Pin{{AccountID: b.ID, CID: "other"}}, nil)

	var seen []string
	var before time.Time
	for page := 0; page < 10; page++ {
		pins, total, err := s.ListPins(a.ID, PinFilter{Limit: 10, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		if page == 0 && total != 25 {
			t.Fatalf("total %d, want 25", total)
		}
		if len(pins) == 0 {
			break
		}
		for _, p := range pins {
			seen = append(seen, p.CID)
		}
		before = pins[len(pins)-1].Created
	}
	if len(seen) != 25 || seen[0] != "cid24" || seen[24] != "cid00" {
		t.Fatalf("paged %d pins, first %v last %v; want 25 newest first", len(seen), seen[0], seen[len(seen)-1])
	}
	pins, _, _ := s.ListPins(a.ID, PinFilter{Name: "FILE-1", Match: "ipartial"})
	if len(pins) != 10 {
		t.Fatalf("ipartial name filter found %d, want 10", len(pins))
	}
	if p, _, _ := s.ListPins(b.ID, PinFilter{}); len(p) != 1 || p[0].CID != "other" {
		t.Fatalf("account b sees %v", p)
	}
}

func TestReserveAdmitsExactlyTheUsesLeft(t *testing.T) {
	s, _ := openTest(t, nil)
	a, _ := s.CreateAccount("a")
	k, _ := s.CreateAPIKey(APIKey{AccountID: a.ID, Name: "k", Hash: []byte("h1"), Scopes: []string{"upload"}})
	tok, err := s.CreateToken(Token{AccountID: a.ID, KeyID: k.ID, Hash: []byte("t1"), MaxUploads: 4})
	if err != nil {
		t.Fatal(err)
	}
	var ok sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 20 {
		ok.Add(1)
		go func() {
			defer ok.Done()
			if ok, err := s.Reserve(tok.ID); err == nil && ok {
				mu.Lock()
				got++
				mu.Unlock()
			} else if err != nil {
				t.Error(err)
			}
		}()
	}
	ok.Wait()
	if got != 4 {
		t.Fatalf("%d reservations, want 4", got)
	}
	// One fails and is released; one commits; a new reservation fits again.
	s.Release(tok.ID, "SIZE_EXCEEDED")
	if _, err := s.AddPins([]Pin{{AccountID: a.ID, CID: "c"}}, &TokenUse{TokenID: tok.ID, Bytes: 10}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Reserve(tok.ID); err != nil || !ok {
		t.Fatalf("after a release: %v", err)
	}
	if ok, err := s.Reserve(tok.ID); err != nil || ok {
		t.Fatalf("over the limit: %v", err)
	}
	s.FlushEvents()
	rec, _ := s.Token("", tok.ID)
	if rec.UseCount != 1 || rec.BytesUploaded != 10 || rec.Failures["SIZE_EXCEEDED"] != 1 {
		t.Fatalf("token record %+v", rec)
	}
}

func TestDeletingTheLastPinDropsTheReference(t *testing.T) {
	s, _ := openTest(t, nil)
	a, _ := s.CreateAccount("a")
	b, _ := s.CreateAccount("b")
	pa, _ := s.AddPins([]Pin{{AccountID: a.ID, CID: "shared"}}, nil)
	pb, _ := s.AddPins([]Pin{{AccountID: b.ID, CID: "shared"}}, nil)
	if _, err := s.DeletePin(a.ID, pb[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("account a deleted b's pin: %v", err)
	}
	s.DeletePin(a.ID, pa[0].ID)
	if n, _ := s.RefCount("shared"); n != 1 {
		t.Fatalf("refcount %d after one delete, want 1", n)
	}
	s.DeletePin(b.ID, pb[0].ID)
	var live []string
	s.LiveCIDs(func(c string) error { live = append(live, c); return nil })
	if len(live) != 0 {
		t.Fatalf("live CIDs %v after the last delete", live)
	}
}

func TestConsumeJTIAcceptsEachJTIOnce(t *testing.T) {
	s, _ := openTest(t, nil)
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	okN := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if fresh, err := s.ConsumeJTI("usk_a", "j1", exp); err == nil && fresh {
				mu.Lock()
				okN++
				mu.Unlock()
			} else if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if okN != 1 {
		t.Fatalf("%d of 10 consumed the same jti, want 1", okN)
	}
	// jtis are scoped by issuer: another signing key's JWT may use "j1".
	if fresh, err := s.ConsumeJTI("usk_b", "j1", exp); err != nil || !fresh {
		t.Fatalf("another issuer's j1: fresh=%v err=%v", fresh, err)
	}
}

// A read that runs on does not hold Close past its deadline; the file is
// closed (and can be opened again) once the read ends.
func TestCloseReturnsByItsDeadlineWhileAReadRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ninja.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	reading, release, readDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		readDone <- s.view(func(*bolt.Tx) error {
			close(reading)
			<-release
			return nil
		})
	}()
	<-reading
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Close(ctx)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second {
		t.Fatalf("Close with a read running: %v after %v, want the deadline's error by then", err, took)
	}
	close(release)
	if err := <-readDone; err != nil {
		t.Fatalf("the read: %v", err)
	}
	// The close completes once the read ends: the file's lock is released.
	var s2 *Store
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if s2, err = Open(path, Options{Timeout: 50 * time.Millisecond}); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("reopen after the read ended: %v", err)
	}
	s2.Close(context.Background())
}
