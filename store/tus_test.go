package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// tusToken opens a store with one account and an upload token of
// maxUploads uses.
func tusToken(t *testing.T, path string, tok Token) (*Store, Account, Token) {
	t.Helper()
	s, err := Open(path, Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.CreateAccount("a")
	k, _ := s.CreateAPIKey(APIKey{AccountID: a.ID, Name: "k", Hash: []byte("h1"), Scopes: []string{"upload"}})
	tok.AccountID, tok.KeyID, tok.Hash = a.ID, k.ID, []byte("t1")
	tok, err = s.CreateToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s, a, tok
}

func createTus(t *testing.T, s *Store, a Account, tok Token, length int64) (TusUpload, error) {
	t.Helper()
	if ok, err := s.Reserve(tok.ID); err != nil || !ok {
		return TusUpload{}, errors.New("no use left to reserve")
	}
	u, err := s.CreateTusUpload(TusUpload{AccountID: a.ID, CredentialID: tok.ID, TokenID: tok.ID, Length: length,
		ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		s.Release(tok.ID, "")
	}
	return u, err
}

func TestATusUploadsReservationSurvivesARestartAndIsCountedByReserve(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ninja.db")
	s, a, tok := tusToken(t, path, Token{MaxUploads: 2})
	up, err := createTus(t, s, a, tok, 100)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(t.Context())

	s, err = Open(path, Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	// One use is held by the open upload: one more upload fits, not two.
	if ok, _ := s.Reserve(tok.ID); !ok {
		t.Fatal("the second use was refused")
	}
	if ok, _ := s.Reserve(tok.ID); ok {
		t.Fatal("a third upload was admitted past maxUploads 2 while the tus upload holds a use")
	}
	s.Release(tok.ID, "")
	if u, _ := s.AccountUsage(a.ID); u.PartialBytes != 100 {
		t.Fatalf("partial bytes %d, want the open upload's 100", u.PartialBytes)
	}

	// Deleting (termination, expiry) releases the use, uncounted.
	if _, err := s.DeleteTusUpload(up.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if ok, _ := s.Reserve(tok.ID); !ok {
			t.Fatal("the released use was not given back")
		}
	}
	rec, _ := s.Token("", tok.ID)
	if u, _ := s.AccountUsage(a.ID); rec.UseCount != 0 || u.PartialBytes != 0 {
		t.Fatalf("after deletion: use count %d, partial bytes %d; want 0 and 0", rec.UseCount, u.PartialBytes)
	}
}

func TestCompletingATusUploadCountsItsUseOnceWithItsPin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ninja.db")
	s, a, tok := tusToken(t, path, Token{MaxUploads: 1})
	defer s.Close(t.Context())
	up, err := createTus(t, s, a, tok, 10)
	if err != nil {
		t.Fatal(err)
	}
	pins := []Pin{{AccountID: a.ID, CID: "bafkqaaa", Size: 10}}
	out, err := s.CompleteTusUpload(up.ID, pins, &TokenUse{TokenID: tok.ID, Bytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteTusUpload(up.ID, pins, &TokenUse{TokenID: tok.ID, Bytes: 10}); !errors.Is(err, ErrConflict) {
		t.Fatalf("a second completion: %v, want ErrConflict", err)
	}
	rec, _ := s.Token("", tok.ID)
	got, _ := s.TusUpload(up.ID)
	u, _ := s.AccountUsage(a.ID)
	if rec.UseCount != 1 || rec.BytesUploaded != 10 || got.CID != "bafkqaaa" || got.PinID != out[0].ID || u.Pins != 1 || u.PartialBytes != 0 {
		t.Fatalf("token %+v, upload %+v, usage %+v", rec, got, u)
	}
	if ok, _ := s.Reserve(tok.ID); ok {
		t.Fatal("a use was left after the only one was counted")
	}
	// The completed record goes with no effect on the token.
	if _, err := s.DeleteTusUpload(up.ID); err != nil {
		t.Fatal(err)
	}
	if rec, _ := s.Token("", tok.ID); rec.UseCount != 1 {
		t.Fatalf("use count %d after deleting the completed record, want 1", rec.UseCount)
	}
}

func TestCreatingATusUploadChecksTheQuotaAndTheTokensTotal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ninja.db")
	s, a, tok := tusToken(t, path, Token{MaxTotalBytes: 150})
	defer s.Close(t.Context())
	if err := s.SetQuota(a.ID, Quota{MaxStoredBytes: 250}); err != nil {
		t.Fatal(err)
	}
	if _, err := createTus(t, s, a, tok, 100); err != nil {
		t.Fatal(err)
	}
	var le *LimitError
	if _, err := createTus(t, s, a, tok, 60); !errors.As(err, &le) || le.Limit != LimitTokenBytes {
		t.Fatalf("past the token's total with the open upload counted: %v, want %s", err, LimitTokenBytes)
	}
	// An API key's upload has no token total, but the account's storage
	// counts the open upload's 100 bytes.
	if _, err := s.CreateTusUpload(TusUpload{AccountID: a.ID, CredentialID: "key", Length: 160, ExpiresAt: time.Now()}); !errors.As(err, &le) || le.Limit != LimitStorage {
		t.Fatalf("past the storage quota: %v, want %s", err, LimitStorage)
	}
	if _, err := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafy1", Size: 160}}, nil); !errors.As(err, &le) || le.Limit != LimitStorage {
		t.Fatalf("a pin past the quota with the open upload counted: %v, want %s", err, LimitStorage)
	}
	exp, err := s.ExpiredTusUploads(time.Now().Add(2*time.Hour), 10)
	if err != nil || len(exp) != 1 || exp[0].Length != 100 {
		t.Fatalf("expired uploads %+v, %v; want the one of 100 bytes", exp, err)
	}
}
