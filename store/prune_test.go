package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestExpiredTokensArePrunedOnlyAfterTheGrace(t *testing.T) {
	clk := &goldenClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := openClocked(t, clk, Options{TokenGrace: 48 * time.Hour})
	a, _ := s.CreateAccount("a")
	k, _ := s.CreateAPIKey(APIKey{AccountID: a.ID, Hash: []byte("k")})
	var expiring []Token
	for i := range 2500 { // more than two pruning batches
		tok, err := s.CreateToken(Token{AccountID: a.ID, KeyID: k.ID, Hash: []byte(fmt.Sprint("t", i)), ExpiresAt: clk.now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		expiring = append(expiring, tok)
	}
	forever, _ := s.CreateToken(Token{AccountID: a.ID, KeyID: k.ID, Hash: []byte("forever")})
	later, _ := s.CreateToken(Token{AccountID: a.ID, KeyID: k.ID, Hash: []byte("later"), ExpiresAt: clk.now().Add(30 * 24 * time.Hour)})
	s.TokenByHash(expiring[0].Hash) // cached

	clk.advance(24 * time.Hour) // expired, within the grace: still listed
	if st, _ := s.Prune(t.Context()); st.Tokens != 0 {
		t.Fatalf("pruned %d tokens within the grace", st.Tokens)
	}
	if tok, err := s.Token(a.ID, expiring[0].ID); err != nil || !tok.ExpiresAt.Before(clk.now()) {
		t.Fatalf("an expired token in its grace: %v", err)
	}
	clk.advance(48 * time.Hour)
	st, err := s.Prune(t.Context())
	if err != nil || st.Tokens != len(expiring) {
		t.Fatalf("pruned %d tokens (%v), want %d", st.Tokens, err, len(expiring))
	}
	for _, tok := range expiring[:3] {
		if _, err := s.Token("", tok.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("pruned token %s: %v", tok.ID, err)
		}
		if _, _, err := s.TokenByHash(tok.Hash); !errors.Is(err, ErrNotFound) {
			t.Errorf("pruned token %s by hash: %v", tok.ID, err)
		}
	}
	// The hash index went with them: the same hash may be issued again.
	if _, err := s.CreateToken(Token{AccountID: a.ID, KeyID: k.ID, Hash: expiring[0].Hash}); err != nil {
		t.Errorf("reusing a pruned token's hash: %v", err)
	}
	list, _, _ := s.ListTokens(a.ID, Page{})
	left := map[string]bool{}
	for _, tok := range list {
		left[tok.ID] = true
	}
	if len(list) != 3 || !left[later.ID] || !left[forever.ID] {
		t.Errorf("tokens left: %d", len(list))
	}
}

func TestUsedJTIsArePrunedThroughTheirExpiry(t *testing.T) {
	clk := &goldenClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := openClocked(t, clk, Options{})
	exp := clk.now().Add(10 * time.Minute)
	var wg sync.WaitGroup
	for w := range 50 { // ConsumeJTI batches: parallel callers share commits
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 1500; i += 50 {
				if fresh, err := s.ConsumeJTI("usk_a", fmt.Sprint("j", i), exp); err != nil || !fresh {
					t.Errorf("jti %d: %v %v", i, fresh, err)
				}
			}
		}()
	}
	wg.Wait()
	s.ConsumeJTI("usk_a", "long", clk.now().Add(24*time.Hour))
	clk.advance(10*time.Minute + jtiWindow - time.Second)
	if st, _ := s.Prune(t.Context()); st.JTIs != 0 {
		t.Fatalf("pruned %d jtis inside their window", st.JTIs)
	}
	clk.advance(2 * time.Second)
	if st, _ := s.Prune(t.Context()); st.JTIs != 1500 {
		t.Fatalf("pruned %d jtis, want 1500", st.JTIs)
	}
	if fresh, _ := s.ConsumeJTI("usk_a", "long", clk.now().Add(time.Hour)); fresh {
		t.Fatal("a live jti was pruned")
	}
	if n := bucketLen(t, s, bucketJTIs); n != 1 {
		t.Fatalf("%d jtis left, want 1", n)
	}
}

func TestIdleTokenReservationsAreForgottenAndReloaded(t *testing.T) {
	clk := &goldenClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := openClocked(t, clk, Options{})
	a, _ := s.CreateAccount("a")
	k, _ := s.CreateAPIKey(APIKey{AccountID: a.ID, Hash: []byte("k")})
	tok, _ := s.CreateToken(Token{AccountID: a.ID, KeyID: k.ID, Hash: []byte("t"), MaxUploads: 2})
	if ok, _ := s.Reserve(tok.ID); !ok {
		t.Fatal("first reservation")
	}
	s.AddPins([]Pin{{AccountID: a.ID, CID: "c"}}, &TokenUse{TokenID: tok.ID, Bytes: 1})
	if ok, _ := s.Reserve(tok.ID); !ok { // in flight: never forgotten
		t.Fatal("second reservation")
	}
	clk.advance(reservationIdle + time.Minute)
	if st, _ := s.Prune(t.Context()); st.Reservations != 0 {
		t.Fatalf("forgot a token with an upload in flight")
	}
	s.Release(tok.ID, "")
	clk.advance(reservationIdle + time.Minute)
	if st, _ := s.Prune(t.Context()); st.Reservations != 1 {
		t.Fatalf("forgot %d idle tokens, want 1", st.Reservations)
	}
	// Reloaded from the record: one use left, not two.
	if ok, _ := s.Reserve(tok.ID); !ok {
		t.Fatal("the last use")
	}
	if ok, _ := s.Reserve(tok.ID); ok {
		t.Fatal("a use past maxUploads after the reload")
	}
}

func TestTheBackgroundPrunerRunsAndStopsWithClose(t *testing.T) {
	clk := &goldenClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s, err := Open(filepath.Join(t.TempDir(), "ninja.db"), Options{Now: clk.now, NoSync: true, PruneInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.ConsumeJTI("usk", "j", clk.now())
	clk.advance(2 * jtiWindow)
	deadline := time.Now().Add(5 * time.Second)
	for bucketLen(t, s, bucketJTIs) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the background pruner did not prune")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil || ctx.Err() != nil {
		t.Fatalf("close: %v %v", err, ctx.Err())
	}
}
