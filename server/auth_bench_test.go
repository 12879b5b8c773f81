package server

import (
	"bytes"
	"crypto/rand"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// BenchmarkCheckUploadToken is the whole check of a presented upload token
// with a warm cache, as an upload request does it before reading its body:
// header parsing, checksum, keyed hash, lookup (token and issuing key) and
// the policy check. Target: <= 5 µs (design.md §7).
func BenchmarkCheckUploadToken(b *testing.B) {
	st, err := store.Open(filepath.Join(b.TempDir(), "ninja.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close(b.Context())
	hasher := token.NewHasher(bytes.Repeat([]byte{1}, 32))
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, Deps{Store: st, Hasher: hasher})
	a, _ := st.CreateAccount("bench")
	_, k, err := MintAPIKey(st, hasher, a.ID, "k", []token.Scope{token.ScopeUpload, token.ScopeTokensWrite})
	if err != nil {
		b.Fatal(err)
	}
	secret, _ := token.NewOpaque(token.KindUploadToken, rand.Reader)
	sum := hasher.Sum(secret)
	if _, err := st.CreateToken(store.Token{AccountID: a.ID, KeyID: k.ID, Hash: sum[:], Prefix: token.DisplayPrefix(secret),
		Scopes: []string{"upload"}, ExpiresAt: time.Now().Add(time.Hour), MaxUploads: 10,
		IPAllow: []string{"127.0.0.0/8"}, AllowedMimeTypes: []string{"image/*"}}); err != nil {
		b.Fatal(err)
	}
	auth := "Signed " + secret
	req := token.Request{Now: time.Now(), Scope: token.ScopeUpload, ClientIP: netip.MustParseAddr("127.0.0.1")}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, err := token.FromHeaders("", auth)
		if err != nil {
			b.Fatal(err)
		}
		g, err := s.resolve(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := g.Check(req); err != nil {
			b.Fatal(err)
		}
	}
}
