package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writeDB makes a closed database with n pins and returns its path.
func writeDB(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ninja.db")
	s, err := Open(path, Options{NoSync: true, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.CreateAccount("a")
	pins := make([]Pin, n)
	for i := range pins {
		pins[i] = Pin{AccountID: a.ID, CID: fmt.Sprintf("bafy%06d", i), Name: fmt.Sprintf("file-%d", i)}
	}
	if err := s.ImportPins(pins); err != nil {
		t.Fatal(err)
	}
	s.Close(t.Context())
	return path
}

func TestOpeningADamagedFileIsErrCorruptNeverAPanic(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"a database cut in half", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			os.Truncate(path, fi.Size()/2)
		}},
		{"a database cut to its first page", func(t *testing.T, path string) { os.Truncate(path, 4096) }},
		{"a database cut inside its first page", func(t *testing.T, path string) { os.Truncate(path, 100) }},
		{"a file of garbage", func(t *testing.T, path string) {
			junk := make([]byte, 1<<16)
			for i := range junk {
				junk[i] = byte(rand.Uint32())
			}
			os.WriteFile(path, junk, 0o600)
		}},
		{"a text file", func(t *testing.T, path string) { os.WriteFile(path, []byte("not a database\n"), 0o600) }},
		{"both meta pages overwritten", func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_WRONLY, 0)
			f.WriteAt(make([]byte, 8192), 0)
			f.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeDB(t, 3000)
			tc.damage(t, path)
			s, err := Open(path, Options{Timeout: 100 * time.Millisecond, PruneInterval: -1})
			if err == nil {
				s.Close(t.Context())
				t.Fatal("opened a damaged database")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%v, want ErrCorrupt", err)
			}
		})
	}
}

func TestDamagedPagesInsideTheFileAreErrorsNotPanics(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(id uint64, pageType string) bool
	}{
		{"every page after the meta pages", func(id uint64, _ string) bool { return id >= 3 }},
		{"every other leaf page", func(id uint64, pageType string) bool { return pageType == "leaf" && id%2 == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeDB(t, 3000)
			var damage []uint64
			db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
			if err != nil {
				t.Fatal(err)
			}
			f, _ := os.Open(path)
			m, _ := readMeta(f)
			f.Close()
			db.View(func(tx *bolt.Tx) error {
				for id := uint64(2); id < m.pgid; id++ {
					pageType := ""
					if info, _ := tx.Page(int(id)); info != nil {
						pageType = info.Type
					}
					if tc.damage(id, pageType) {
						damage = append(damage, id)
					}
				}
				return nil
			})
			db.Close()
			f, _ = os.OpenFile(path, os.O_RDWR, 0)
			page := make([]byte, m.pageSize)
			for _, id := range damage {
				for i := range page {
					page[i] = byte(uint64(i)*7 + id)
				}
				f.WriteAt(page, int64(id)*int64(m.pageSize))
			}
			f.Close()
			s, err := Open(path, Options{Timeout: 100 * time.Millisecond, PruneInterval: -1, Logger: discardLogger()})
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("open: %v, want ErrCorrupt", err)
				}
				return
			}
			defer s.Close(t.Context())
			accts, err := s.Accounts()
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("accounts: %v", err)
			}
			for _, a := range accts {
				if _, _, err := s.ListPins(a.ID, PinFilter{Name: "file", Match: "partial"}); !errors.Is(err, ErrCorrupt) {
					t.Errorf("list pins: %v, want ErrCorrupt", err)
				}
			}
			if err := s.LiveRoots(t.Context(), func(string) error { return nil }); !errors.Is(err, ErrCorrupt) {
				t.Errorf("live roots: %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestAMissingOrEmptyDatabaseIsRefusedWhenItMustExist(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	if _, err := Open(missing, Options{MustExist: true}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a refused open created the file")
	}
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)
	if _, err := Open(empty, Options{MustExist: true}); !errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrNotFound) {
		t.Errorf("empty: %v, want ErrCorrupt and ErrNotFound", err)
	}
	// Without MustExist an empty file is a new database, as bbolt has it.
	s, err := Open(empty, Options{PruneInterval: -1})
	if err != nil {
		t.Fatalf("empty, may create: %v", err)
	}
	s.Close(t.Context())
}

func TestLiveRootsRefusesADamagedIndexBeforeCallingFn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(tx *bolt.Tx) error
		says   string
	}{
		{"a reference count too low", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketCIDRefs).Put([]byte("bafy000007"), u64(0))
		}, "bafy000007"},
		{"a reference missing", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketCIDRefs).Delete([]byte("bafy000007"))
		}, "cidrefs does not hold"},
		{"a reference count too high", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketCIDRefs).Put([]byte("bafy000007"), u64(2))
		}, "bafy000007"},
		{"a reference no pin makes", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketCIDRefs).Put([]byte("bafyghost"), u64(1))
		}, "bafyghost"},
		{"a reference value cut short", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketCIDRefs).Put([]byte("bafy000007"), []byte{1})
		}, "damaged count"},
		{"a pin record that does not decode", func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketPins).Cursor()
			k, _ := c.First()
			return tx.Bucket(bucketPins).Put(k, []byte(`{"id":`))
		}, "does not decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openFast(t, nil)
			a, _ := s.CreateAccount("a")
			pins := make([]Pin, 50)
			for i := range pins {
				pins[i] = Pin{AccountID: a.ID, CID: fmt.Sprintf("bafy%06d", i)}
			}
			s.ImportPins(pins)
			if err := s.LiveRoots(t.Context(), func(string) error { return nil }); err != nil {
				t.Fatalf("before the damage: %v", err)
			}
			if err := s.update(tc.damage); err != nil {
				t.Fatal(err)
			}
			called := 0
			err := s.LiveRoots(t.Context(), func(string) error { called++; return nil })
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.says) || called != 0 {
				t.Fatalf("err %v (want ErrCorrupt saying %q), fn called %d times", err, tc.says, called)
			}
		})
	}
}
