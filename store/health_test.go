package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openHealthTest opens a store of its own (not the other tests' helper,
// so this file stands alone).
func openHealthTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ninja.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestCheckNoticesADeletedReplacedOrClosedDatabase(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, s *Store, path string)
		want    string // in the error; "" means healthy
	}{
		{"an open database whose file is in place is healthy", func(*testing.T, *Store, string) {}, ""},
		{"a deleted file is named as deleted", func(t *testing.T, _ *Store, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "deleted"},
		{"a file replaced by another (a restore under a running server) is named as replaced", func(t *testing.T, _ *Store, path string) {
			os.Remove(path)
			if err := os.WriteFile(path, []byte("other"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "replaced"},
		{"a closed database is not usable", func(t *testing.T, s *Store, _ string) { s.Close(t.Context()) }, "not open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, path := openHealthTest(t)
			defer s.Close(t.Context())
			tt.breakIt(t, s, path)
			err := s.Check()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check() = %v, want ErrUnhealthy saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), path) {
				t.Errorf("Check() = %v names the path; /readyz is public", err)
			}
		})
	}
}

func TestSchemaVersionIsTheCurrentOneAfterOpen(t *testing.T) {
	s, _ := openHealthTest(t)
	defer s.Close(t.Context())
	got, err := s.SchemaVersion()
	if err != nil || got != CurrentSchema() || got == 0 {
		t.Fatalf("SchemaVersion() = %d, %v; want %d", got, err, CurrentSchema())
	}
}
