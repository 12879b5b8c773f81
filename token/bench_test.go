package token

import (
	"net/netip"
	"testing"
	"time"
)

// BenchmarkParseOpaqueAndHash is the per-request cost of an opaque
// credential before the database lookup: checksum, keyed hash, and the
// grant check. Target <= 5 µs.
func BenchmarkParseOpaqueAndHash(b *testing.B) {
	tok := mustOpaque(b, KindUploadToken, 1)
	h := NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	g := apiKeyGrant()
	g.ExpiresAt = t0.Add(time.Hour)
	g.IPAllow = pfx("10.0.0.0/8", "2001:db8::/32")
	g.AllowedOrigins = []string{"https://app.example"}
	req := Request{Now: t0, Scope: ScopeUpload, ClientIP: netip.MustParseAddr("10.1.2.3"), Origin: "https://app.example"}
	want := h.Sum(tok)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseOpaque(tok); err != nil {
			b.Fatal(err)
		}
		if !Equal(h.Sum(tok), want) {
			b.Fatal("hash mismatch")
		}
		if err := g.Check(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseOpaqueGarbage(b *testing.B) {
	tok := []byte(mustOpaque(b, KindAPIKey, 1))
	tok[20] ^= 1
	s := string(tok)
	b.ReportAllocs()
	for b.Loop() {
		ParseOpaque(s)
	}
}

func BenchmarkVerifyUploadJWT(b *testing.B) {
	tok := mustSignUpload(b, uploadPayload(nil))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyUploadJWT(tok, lookup, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyAccessJWT(b *testing.B) {
	s := NewSigner(testEdKey(1))
	tok, err := s.Issue(accessClaims())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok, t0); err != nil {
			b.Fatal(err)
		}
	}
}
