package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// stepClock is a clock that moves on by a step on every reading.
type stepClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

// credentials is what createCredentialSets made, oldest first.
type credentials struct{ keys, tokens, signingKeys, jwts []string }

// createCredentialSets makes n of each credential in an account, a second
// apart, some accounts between them and an account of others.
func createCredentialSets(t *testing.T, s *Store, acct string, n int) credentials {
	t.Helper()
	var c credentials
	for i := range n {
		k, err := s.CreateAPIKey(APIKey{AccountID: acct, Hash: []byte(fmt.Sprint("k", i))})
		if err != nil {
			t.Fatal(err)
		}
		c.keys = append(c.keys, k.ID)
		tok, _ := s.CreateToken(Token{AccountID: acct, KeyID: k.ID, Hash: []byte(fmt.Sprint("t", i))})
		c.tokens = append(c.tokens, tok.ID)
		sk, _ := s.CreateSigningKey(SigningKey{ID: fmt.Sprint("usk_", i), AccountID: acct, KeyID: k.ID})
		c.signingKeys = append(c.signingKeys, sk.ID)
		j, _ := s.CreateAccessJWT(AccessJWT{JTI: fmt.Sprint("jti_", i), AccountID: acct, KeyID: k.ID})
		c.jwts = append(c.jwts, j.JTI)
		if i%5 == 0 {
			s.CreateAccount(fmt.Sprint("acct", i))
		}
	}
	other, _ := s.CreateAccount("other")
	ok, _ := s.CreateAPIKey(APIKey{AccountID: other.ID, Hash: []byte("other")})
	s.CreateToken(Token{AccountID: other.ID, KeyID: ok.ID, Hash: []byte("other-t")})
	return c
}

// pageAll pages through a list five at a time.
func pageAll(t *testing.T, list func(Page) ([]string, string, error)) []string {
	t.Helper()
	var all []string
	p := Page{Limit: 5}
	for range 100 {
		ids, next, err := list(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) > p.Limit {
			t.Fatalf("page of %d, limit %d", len(ids), p.Limit)
		}
		all = append(all, ids...)
		if next == "" {
			return all
		}
		p.Cursor = next
	}
	t.Fatal("paging does not end")
	return nil
}

func TestEveryCredentialListPagesNewestFirst(t *testing.T) {
	clk := &stepClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), step: time.Second}
	s := openFast(t, clk.now)
	a, _ := s.CreateAccount("a")
	const n = 23
	c := createCredentialSets(t, s, a.ID, n)
	keys, tokens, sks, jwts := c.keys, c.tokens, c.signingKeys, c.jwts
	for _, tc := range []struct {
		name string
		list func(Page) ([]string, string, error)
		want []string
	}{
		{"API keys", func(p Page) ([]string, string, error) {
			v, next, err := s.ListAPIKeys(a.ID, p)
			return ids(v, func(k APIKey) string { return k.ID }), next, err
		}, keys},
		{"tokens", func(p Page) ([]string, string, error) {
			v, next, err := s.ListTokens(a.ID, p)
			return ids(v, func(k Token) string { return k.ID }), next, err
		}, tokens},
		{"signing keys", func(p Page) ([]string, string, error) {
			v, next, err := s.ListSigningKeys(a.ID, p)
			return ids(v, func(k SigningKey) string { return k.ID }), next, err
		}, sks},
		{"access JWTs", func(p Page) ([]string, string, error) {
			v, next, err := s.ListAccessJWTs(a.ID, p)
			return ids(v, func(k AccessJWT) string { return k.JTI }), next, err
		}, jwts},
	} {
		got := pageAll(t, tc.list)
		want := slices.Clone(tc.want)
		slices.Reverse(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: paged %v\n want %v", tc.name, got, want)
		}
	}
	accts := pageAll(t, func(p Page) ([]string, string, error) {
		v, next, err := s.ListAccounts(p)
		return ids(v, func(a Account) string { return a.Name }), next, err
	})
	if len(accts) != 7 || accts[0] != "other" || accts[1] != "acct20" || accts[6] != "a" {
		t.Errorf("accounts paged %v", accts)
	}
	all, _ := s.Tokens(a.ID)
	if len(all) != n || all[0].ID != tokens[n-1] {
		t.Errorf("the unpaged token list: %d, newest %s", len(all), all[0].ID)
	}
	for _, bad := range []Page{{Limit: MaxPageLimit + 1}, {Limit: -1}, {Cursor: "!!"}} {
		if _, _, err := s.ListTokens(a.ID, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("page %+v: %v, want ErrInvalid", bad, err)
		}
	}
	if got, next, _ := s.ListTokens(a.ID, Page{}); len(got) != n || next != "" {
		t.Errorf("a default page: %d tokens, next %q", len(got), next)
	}
}

func ids[T any](v []T, id func(T) string) []string {
	out := make([]string, len(v))
	for i := range v {
		out[i] = id(v[i])
	}
	return out
}

func TestAccountsAreFoundByNameOrIDAndNamesAreUnique(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("acme")
	for _, q := range []string{"acme", a.ID} {
		if got, err := s.Account(q); err != nil || got.ID != a.ID {
			t.Errorf("Account(%q): %v %v", q, got, err)
		}
	}
	if _, err := s.Account("nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("no such account: %v", err)
	}
	if _, err := s.CreateAccount(" acme "); !errors.Is(err, ErrConflict) {
		t.Errorf("a second acme: %v", err)
	}
}
