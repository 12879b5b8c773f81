package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestASchema6DatabaseGainsNamesOnOpen: the names migration only adds its
// buckets; a database from before it opens, migrates and takes names.
func TestASchema6DatabaseGainsNamesOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ninja.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.CreateAccount("a")
	s.Close(t.Context())
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketNames, bucketNamesByAc, bucketNameLabels} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, u64(uint64(len(migrations)-1)))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	if v, _ := s.schemaVersion(); v != uint64(len(migrations)) {
		t.Fatalf("schema %d after the open", v)
	}
	if _, err := s.CreateName(Name{AccountID: a.ID, Label: "blog", Name: "k51x", Key: []byte{1}}); err != nil {
		t.Fatalf("a name after the migration: %v", err)
	}
}

func TestNamesBelongToTheirAccountAndRefusalsWriteNothing(t *testing.T) {
	s, _ := openTest(t, nil)
	a, _ := s.CreateAccount("a")
	b, _ := s.CreateAccount("b")
	n, err := s.CreateName(Name{AccountID: a.ID, Label: "blog", Name: "k51a", Key: []byte("key")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateName(Name{AccountID: a.ID, Label: "blog", Name: "k51b"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("a second label blog: %v", err)
	}
	if _, err := s.CreateName(Name{AccountID: b.ID, Label: "other", Name: "k51a"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("the same IPNS name in another account: %v", err)
	}
	if _, err := s.CreateName(Name{AccountID: b.ID, Label: "blog", Name: "k51c"}); err != nil {
		t.Fatalf("another account's label blog: %v", err)
	}
	for _, ref := range []string{"blog", "k51a"} {
		if got, err := s.NameOf(a.ID, ref); err != nil || got.Name != "k51a" {
			t.Fatalf("NameOf(a, %s): %v %v", ref, got, err)
		}
	}
	if _, err := s.NameOf(b.ID, "k51a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another account's name by IPNS name: %v", err)
	}
	if got, err := s.NameOf("", "k51a"); err != nil || got.AccountID != a.ID {
		t.Fatalf("any account's: %v %v", got, err)
	}

	if _, err := s.UpdateName(a.ID, "blog", func(n *Name) error {
		n.Record, n.Sequence = []byte("rec"), 3
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	if _, err := s.UpdateName(a.ID, "blog", func(n *Name) error {
		n.Record, n.Sequence = []byte("other"), 9
		return refused
	}); !errors.Is(err, refused) {
		t.Fatalf("UpdateName: %v", err)
	}
	// fn cannot change the key or the owner either.
	got, _ := s.UpdateName(a.ID, "blog", func(n *Name) error { n.Key, n.AccountID = nil, b.ID; return nil })
	if !bytes.Equal(got.Record, []byte("rec")) || got.Sequence != 3 || !bytes.Equal(got.Key, n.Key) || got.AccountID != a.ID {
		t.Fatalf("after a refused update: %+v", got)
	}
	if _, err := s.UpdateName(b.ID, "k51a", func(*Name) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another account's update: %v", err)
	}
	if _, err := s.DeleteName(b.ID, "k51a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another account's delete: %v", err)
	}

	due, next, err := s.PublishedNames("", 10)
	if err != nil || len(due) != 1 || due[0].Name != "k51a" || next != "" {
		t.Fatalf("PublishedNames: %v %q %v", due, next, err)
	}
	if _, err := s.DeleteName(a.ID, "blog"); err != nil {
		t.Fatal(err)
	}
	if l, _, _ := s.ListNames(a.ID, Page{}); len(l) != 0 {
		t.Fatalf("after delete: %v", l)
	}
	// The label is free again.
	if _, err := s.CreateName(Name{AccountID: a.ID, Label: "blog", Name: "k51d"}); err != nil {
		t.Fatal(err)
	}
}

func TestPublishedNamesComeInBatchesOfEveryAccount(t *testing.T) {
	s, _ := openTest(t, nil)
	a, _ := s.CreateAccount("a")
	b, _ := s.CreateAccount("b")
	for i, acct := range []string{a.ID, b.ID, a.ID, b.ID} {
		name := string(rune('p' + i))
		s.CreateName(Name{AccountID: acct, Label: name, Name: "k51" + name})
		if i < 3 {
			s.UpdateName(acct, name, func(n *Name) error { n.Record = []byte("r"); return nil })
		}
	}
	var got []string
	for after, rounds := "", 0; ; rounds++ {
		batch, next, err := s.PublishedNames(after, 2)
		if err != nil || rounds > 3 {
			t.Fatalf("PublishedNames: %v after %d rounds", err, rounds)
		}
		for _, n := range batch {
			got = append(got, n.Name)
		}
		if next == "" {
			break
		}
		after = next
	}
	if strings.Join(got, ",") != "k51p,k51q,k51r" {
		t.Fatalf("published names %v, want the three with a record", got)
	}
}
