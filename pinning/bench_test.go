package pinning

import (
	"net/netip"
	"testing"

	"github.com/ninja-ipfs/ninja/token"
)

// BenchmarkAuthenticateUploadToken is the whole check of a presented
// upload token with a warm cache, as an upload request does it before
// reading its body: header parsing, checksum, keyed hash, lookup (token
// and issuing key) and the policy check. Target: <= 5 µs (design.md §7).
func BenchmarkAuthenticateUploadToken(b *testing.B) {
	s, _, a := newTestService(b)
	ctx := b.Context()
	_, k, err := s.CreateAPIKey(ctx, a.ID, "k", []token.Scope{token.ScopeUpload, token.ScopeTokensWrite})
	if err != nil {
		b.Fatal(err)
	}
	parent, err := keyGrant(k)
	if err != nil {
		b.Fatal(err)
	}
	secret, _, err := s.CreateUploadToken(ctx, parent, TokenSpec{Constraints: token.Constraints{MaxUploads: 10,
		IPAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, AllowedMimeTypes: []string{"image/*"}}})
	if err != nil {
		b.Fatal(err)
	}
	req := AuthRequest{Authorization: "Signed " + secret, Scopes: []token.Scope{token.ScopeUpload},
		ClientIP: netip.MustParseAddr("127.0.0.1")}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Authenticate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
