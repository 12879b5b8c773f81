package token

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

func accessClaims() AccessClaims {
	return AccessClaims{
		Subject: "acc_1", KeyID: "key_1", Scopes: []Scope{ScopePinsRead, ScopeUpload},
		IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), JTI: "jti-a", MaxUses: 100,
	}
}

func TestSignerIssuesAndVerifies(t *testing.T) {
	s := NewSigner(testEdKey(1))
	tok, err := s.Issue(accessClaims())
	if err != nil {
		t.Fatal(err)
	}
	if !LooksLikeJWT(tok) {
		t.Fatalf("%q does not look like a JWT", tok)
	}
	if k, err := Classify(tok); err != nil || k != KindAccessJWT {
		t.Fatalf("Classify = %v, %v", k, err)
	}
	got, err := s.Verify(tok, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := accessClaims()
	if got.Subject != want.Subject || got.KeyID != want.KeyID || got.JTI != want.JTI || got.MaxUses != 100 ||
		!got.IssuedAt.Equal(t0) || !got.ExpiresAt.Equal(want.ExpiresAt) || len(got.Scopes) != 2 {
		t.Fatalf("claims %+v", got)
	}
	// Nothing secret in the payload: only the documented claims.
	payload, _ := b64.DecodeString(strings.Split(tok, ".")[1])
	var m map[string]any
	json.Unmarshal(payload, &m)
	for k := range m {
		if !accessClaimNames[k] {
			t.Errorf("unexpected claim %q", k)
		}
	}
}

func TestSignerIssueRequiresClaims(t *testing.T) {
	s := NewSigner(testEdKey(1))
	for name, mut := range map[string]func(c *AccessClaims){
		"no subject":    func(c *AccessClaims) { c.Subject = "" },
		"no key":        func(c *AccessClaims) { c.KeyID = "" },
		"no jti":        func(c *AccessClaims) { c.JTI = "" },
		"no scopes":     func(c *AccessClaims) { c.Scopes = nil },
		"unknown scope": func(c *AccessClaims) { c.Scopes = []Scope{"root"} },
		"no expiry":     func(c *AccessClaims) { c.ExpiresAt = time.Time{} },
		"negative uses": func(c *AccessClaims) { c.MaxUses = -1 },
	} {
		c := accessClaims()
		mut(&c)
		if _, err := s.Issue(c); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSignerVerifyRejects(t *testing.T) {
	s := NewSigner(testEdKey(1))
	other := NewSigner(testEdKey(2))
	good, _ := s.Issue(accessClaims())
	parts := strings.Split(good, ".")
	hdr := `{"alg":"EdDSA","kid":"` + s.KeyID() + `","typ":"JWT"}`
	claims := func(mut func(m map[string]any)) string {
		m := map[string]any{"sub": "acc_1", "key": "key_1", "scopes": []string{"upload"}, "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(), "jti": "j"}
		if mut != nil {
			mut(m)
		}
		return mustJSON(t, m)
	}
	edSign := func(k ed25519.PrivateKey) func([]byte) []byte {
		return func(in []byte) []byte { return ed25519.Sign(k, in) }
	}
	pub := testEdKey(1).Public().(ed25519.PublicKey)
	otherTok, _ := other.Issue(accessClaims())
	upload := mustSignUpload(t, uploadPayload(nil))

	tests := []struct {
		name string
		tok  string
		now  time.Time
		want error
	}{
		{"a hand-built token with the server key passes", rawJWT(hdr, claims(nil), edSign(testEdKey(1))), t0, nil},
		{"an expired token is refused", good, t0.Add(24*time.Hour + Skew), ErrExpired},
		{"HS256 signed with the server's public key bytes is refused", rawJWT(`{"alg":"HS256","kid":"`+s.KeyID()+`"}`, claims(nil), hs256(pub)), t0, ErrMalformed},
		{"an upload JWT (HS256) is refused", upload, t0, ErrMalformed},
		{"alg none is refused", rawJWT(`{"alg":"none","kid":"`+s.KeyID()+`"}`, claims(nil), func([]byte) []byte { return []byte{0} }), t0, ErrMalformed},
		{"the fully-specified Ed25519 alg name is refused", rawJWT(`{"alg":"Ed25519","kid":"`+s.KeyID()+`"}`, claims(nil), edSign(testEdKey(1))), t0, ErrMalformed},
		{"another server's token is an unknown key", otherTok, t0, ErrUnknown},
		{"our kid over another key's signature fails", rawJWT(hdr, claims(nil), edSign(testEdKey(2))), t0, ErrMalformed},
		{"a missing kid is refused", rawJWT(`{"alg":"EdDSA"}`, claims(nil), edSign(testEdKey(1))), t0, ErrMalformed},
		{"a tampered payload fails", parts[0] + "." + b64.EncodeToString([]byte(claims(func(m map[string]any) { m["scopes"] = []string{"admin"} }))) + "." + parts[2], t0, ErrMalformed},
		{"the JSON serialisation is refused", `{"protected":"` + parts[0] + `","payload":"` + parts[1] + `","signature":"` + parts[2] + `"}`, t0, ErrMalformed},
		{"a JWE-shaped token is refused", strings.Join([]string{parts[0], "", parts[1], "", parts[2]}, "."), t0, ErrMalformed},
		{"a missing jti is refused", rawJWT(hdr, claims(func(m map[string]any) { delete(m, "jti") }), edSign(testEdKey(1))), t0, ErrMalformed},
		{"a missing exp is refused", rawJWT(hdr, claims(func(m map[string]any) { delete(m, "exp") }), edSign(testEdKey(1))), t0, ErrMalformed},
		{"a missing iat is refused", rawJWT(hdr, claims(func(m map[string]any) { delete(m, "iat") }), edSign(testEdKey(1))), t0, ErrMalformed},
		{"an unknown scope is refused", rawJWT(hdr, claims(func(m map[string]any) { m["scopes"] = []string{"root"} }), edSign(testEdKey(1))), t0, ErrMalformed},
		{"an unknown claim is refused", rawJWT(hdr, claims(func(m map[string]any) { m["secret"] = "x" }), edSign(testEdKey(1))), t0, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Verify(tt.tok, tt.now)
			wantErr(t, err, tt.want)
		})
	}
}

func TestJWKSVerifiesIssuedTokens(t *testing.T) {
	s := NewSigner(testEdKey(1))
	raw, err := s.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), `"d"`) {
		t.Fatalf("private key material in JWKS: %s", raw)
	}
	set, err := jwk.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := s.Issue(accessClaims())
	// A third party verifying with only the published JWKS must succeed.
	if _, err := jws.Verify([]byte(tok), jws.WithKeySet(set)); err != nil {
		t.Fatalf("verify with JWKS: %v\n%s", err, raw)
	}
}

func TestAccessClaimsGrant(t *testing.T) {
	parent := apiKeyGrant()
	parent.ExpiresAt = t0.Add(time.Hour)
	c := accessClaims()
	g, err := c.Grant(parent)
	if err != nil {
		t.Fatal(err)
	}
	if g.Kind != KindAccessJWT || g.CredentialID != "jti-a" || g.Prefix != parent.Prefix || g.MaxUses != 100 || !g.ExpiresAt.Equal(parent.ExpiresAt) {
		t.Fatalf("grant %+v", g)
	}
	wide := c
	wide.Scopes = []Scope{ScopeAdmin}
	if _, err := wide.Grant(parent); !errors.Is(err, ErrForbidden) {
		t.Fatalf("scope wider than the key: %v", err)
	}
	stranger := c
	stranger.KeyID = "key_2"
	if _, err := stranger.Grant(parent); !errors.Is(err, ErrForbidden) {
		t.Fatalf("grant from the wrong key: %v", err)
	}
}
