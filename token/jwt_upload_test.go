package token

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
)

const (
	testKid    = "usk_aaaaaaaaaaaaaaaa"
	testSecret = "uss_thisisthesigningsecretoftheappsbackend234567abcdefgh"
)

// lookup knows testKid, and a revoked key.
func lookup(kid string) ([]byte, error) {
	switch kid {
	case testKid:
		return []byte(testSecret), nil
	case "usk_rrrrrrrrrrrrrrrr":
		return nil, fmt.Errorf("%w: signing key revoked", ErrRevoked)
	}
	return nil, fmt.Errorf("%w: no signing key %s", ErrUnknown, kid)
}

func uploadPayload(mut func(m map[string]any)) map[string]any {
	m := map[string]any{
		"iat":               t0.Unix(),
		"exp":               t0.Add(10 * time.Minute).Unix(),
		"jti":               "jti-1",
		"fileName":          "avatar.png",
		"metadata":          map[string]string{"user": "42"},
		"cidVersion":        1,
		"wrapWithDirectory": false,
		"maxSizeMB":         2,
		"allowedMimeTypes":  []string{"image/*"},
	}
	if mut != nil {
		mut(m)
	}
	return m
}

func mustSignUpload(t testing.TB, claims map[string]any) string {
	t.Helper()
	s, err := SignUploadJWT(testKid, []byte(testSecret), claims)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyUploadJWTAcceptsAWellFormedToken(t *testing.T) {
	c, err := VerifyUploadJWT(mustSignUpload(t, uploadPayload(nil)), lookup, t0)
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyID != testKid || c.JTI != "jti-1" || !c.IssuedAt.Equal(t0) || !c.ExpiresAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("claims %+v", c)
	}
	if c.Params.Name != "avatar.png" || c.Params.Metadata["user"] != "42" || *c.Params.CIDVersion != 1 || *c.Params.WrapWithDirectory {
		t.Fatalf("params %+v", c.Params)
	}
	if c.Constraints.MaxFileBytes != 2*MB || c.Constraints.AllowedMimeTypes[0] != "image/*" {
		t.Fatalf("constraints %+v", c.Constraints)
	}
}

func TestVerifyUploadJWTRejects(t *testing.T) {
	secret := []byte(testSecret)
	payload := func(mut func(m map[string]any)) string { return mustJSON(t, uploadPayload(mut)) }
	hdr := `{"alg":"HS256","kid":"` + testKid + `","typ":"JWT"}`
	good := mustSignUpload(t, uploadPayload(nil))
	parts := strings.Split(good, ".")
	signer := NewSigner(testEdKey(1))
	access, _ := signer.Issue(AccessClaims{Subject: "acc_1", KeyID: "key_1", Scopes: []Scope{ScopeUpload}, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), JTI: "j"})
	edPub := testEdKey(1).Public().(ed25519.PublicKey)

	tests := []struct {
		name string
		tok  string
		now  time.Time
		want error
	}{
		{"a lifetime of exactly 3600 s passes", mustSignUpload(t, uploadPayload(func(m map[string]any) { m["exp"] = t0.Unix() + 3600 })), t0, nil},
		{"a lifetime of 3601 s fails, without skew", mustSignUpload(t, uploadPayload(func(m map[string]any) { m["exp"] = t0.Unix() + 3601 })), t0, ErrMalformed},
		{"exp equal to iat fails", mustSignUpload(t, uploadPayload(func(m map[string]any) { m["exp"] = t0.Unix() })), t0, ErrMalformed},
		{"a token within the exp skew passes", good, t0.Add(10*time.Minute + Skew - time.Second), nil},
		{"a token past exp plus skew is expired", good, t0.Add(10*time.Minute + Skew), ErrExpired},
		{"a token issued beyond the skew in the future is refused", good, t0.Add(-Skew - time.Second), ErrExpired},
		{"a token issued within the skew in the future passes", good, t0.Add(-Skew), nil},
		{"a token before its nbf is refused", mustSignUpload(t, uploadPayload(func(m map[string]any) { m["nbf"] = t0.Unix() + 60 })), t0, ErrExpired},
		{"alg none is refused", rawJWT(`{"alg":"none","kid":"`+testKid+`"}`, payload(nil), func([]byte) []byte { return []byte("x") }), t0, ErrMalformed},
		{"alg none with an empty signature is refused", rawJWT(`{"alg":"none","kid":"`+testKid+`"}`, payload(nil), nil), t0, ErrMalformed},
		{"HS384 is refused even with the right secret", rawJWT(`{"alg":"HS384","kid":"`+testKid+`"}`, payload(nil), hs256(secret)), t0, ErrMalformed},
		{"HS512 is refused", rawJWT(`{"alg":"HS512","kid":"`+testKid+`"}`, payload(nil), hs256(secret)), t0, ErrMalformed},
		{"an RS256 header is refused", rawJWT(`{"alg":"RS256","kid":"`+testKid+`"}`, payload(nil), hs256(secret)), t0, ErrMalformed},
		{"an access JWT (EdDSA) is refused", access, t0, ErrMalformed},
		{"an EdDSA header with the upload kid is refused", rawJWT(`{"alg":"EdDSA","kid":"`+testKid+`"}`, payload(nil), func(in []byte) []byte { return ed25519.Sign(testEdKey(1), in) }), t0, ErrMalformed},
		{"HS256 keyed with an Ed25519 public key is refused", rawJWT(hdr, payload(nil), hs256(edPub)), t0, ErrMalformed},
		{"the JSON serialisation is refused", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, t0, ErrMalformed},
		{"a JWE-shaped five-part token is refused", parts[0] + ".." + parts[1] + ".." + parts[2], t0, ErrMalformed},
		{"a tampered payload fails the signature", parts[0] + "." + b64.EncodeToString([]byte(payload(func(m map[string]any) { m["maxSizeMB"] = 2000 }))) + "." + parts[2], t0, ErrMalformed},
		{"a tampered signature fails", parts[0] + "." + parts[1] + "." + b64.EncodeToString(make([]byte, 32)), t0, ErrMalformed},
		{"a wrong secret fails", rawJWT(hdr, payload(nil), hs256([]byte("uss_wrong"))), t0, ErrMalformed},
		{"an unknown kid is unknown", rawJWT(`{"alg":"HS256","kid":"usk_bbbbbbbbbbbbbbbb"}`, payload(nil), hs256(secret)), t0, ErrUnknown},
		{"a revoked kid is revoked", rawJWT(`{"alg":"HS256","kid":"usk_rrrrrrrrrrrrrrrr"}`, payload(nil), hs256(secret)), t0, ErrRevoked},
		{"a missing kid is malformed", rawJWT(`{"alg":"HS256"}`, payload(nil), hs256(secret)), t0, ErrMalformed},
		{"a malformed kid is malformed", rawJWT(`{"alg":"HS256","kid":"../../etc"}`, payload(nil), hs256(secret)), t0, ErrMalformed},
		{"a non-string kid is malformed", rawJWT(`{"alg":"HS256","kid":7}`, payload(nil), hs256(secret)), t0, ErrMalformed},
		{"a jku header is refused", rawJWT(`{"alg":"HS256","kid":"`+testKid+`","jku":"https://evil"}`, payload(nil), hs256(secret)), t0, ErrMalformed},
		{"a crit header is refused", rawJWT(`{"alg":"HS256","kid":"`+testKid+`","crit":["x"],"x":1}`, payload(nil), hs256(secret)), t0, ErrMalformed},
		{"a missing iat is refused", rawJWT(hdr, payload(func(m map[string]any) { delete(m, "iat") }), hs256(secret)), t0, ErrMalformed},
		{"a missing exp is refused", rawJWT(hdr, payload(func(m map[string]any) { delete(m, "exp") }), hs256(secret)), t0, ErrMalformed},
		{"an empty jti is refused", rawJWT(hdr, payload(func(m map[string]any) { m["jti"] = "" }), hs256(secret)), t0, ErrMalformed},
		{"a string iat is refused", rawJWT(hdr, payload(func(m map[string]any) { m["iat"] = fmt.Sprint(t0.Unix()) }), hs256(secret)), t0, ErrMalformed},
		{"a fractional exp is refused", rawJWT(hdr, payload(func(m map[string]any) { m["exp"] = float64(t0.Unix()) + 0.5 }), hs256(secret)), t0, ErrMalformed},
		{"an unknown claim is refused", rawJWT(hdr, payload(func(m map[string]any) { m["name"] = "x" }), hs256(secret)), t0, ErrMalformed},
		{"a bad allowedMimeTypes is refused", rawJWT(hdr, payload(func(m map[string]any) { m["allowedMimeTypes"] = []string{"*/png"} }), hs256(secret)), t0, ErrMalformed},
		{"a bad cidVersion is refused", rawJWT(hdr, payload(func(m map[string]any) { m["cidVersion"] = 2 }), hs256(secret)), t0, ErrMalformed},
		{"a non-string metadata value is refused", rawJWT(hdr, payload(func(m map[string]any) { m["metadata"] = map[string]any{"n": 1} }), hs256(secret)), t0, ErrMalformed},
		{"a payload that is not an object is refused", rawJWT(hdr, `[1,2]`, hs256(secret)), t0, ErrMalformed},
		{"an opaque token is refused", mustOpaque(t, KindUploadToken, 1), t0, ErrMalformed},
		{"garbage is refused", "eyJ.eyJ.x", t0, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := VerifyUploadJWT(tt.tok, lookup, tt.now)
			wantErr(t, err, tt.want)
			if err != nil && c != nil {
				t.Fatal("claims returned with an error")
			}
		})
	}
}

func TestSignUploadJWTRefusesBadKeys(t *testing.T) {
	if _, err := SignUploadJWT("kid", []byte(testSecret), uploadPayload(nil)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("bad kid: %v", err)
	}
	if _, err := SignUploadJWT(testKid, nil, uploadPayload(nil)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("empty secret: %v", err)
	}
}

func TestUploadClaimsCheckRequest(t *testing.T) {
	c, err := VerifyUploadJWT(mustSignUpload(t, uploadPayload(func(m map[string]any) { delete(m, "wrapWithDirectory") })), lookup, t0)
	if err != nil {
		t.Fatal(err)
	}
	v0, v1, yes := 0, 1, true
	tests := []struct {
		name  string
		p     Params
		want  error
		field string
	}{
		{name: "an empty request takes every signed parameter", p: Params{}},
		{name: "repeating signed values is fine", p: Params{Name: "avatar.png", Metadata: map[string]string{"user": "42"}, CIDVersion: &v1}},
		{name: "a different file name is a mismatch", p: Params{Name: "evil.exe"}, want: ErrParamMismatch, field: "fileName"},
		{name: "different metadata is a mismatch", p: Params{Metadata: map[string]string{"user": "1"}}, want: ErrParamMismatch, field: "metadata"},
		{name: "extra metadata is a mismatch", p: Params{Metadata: map[string]string{"user": "42", "x": "y"}}, want: ErrParamMismatch, field: "metadata"},
		{name: "a different cidVersion is a mismatch", p: Params{CIDVersion: &v0}, want: ErrParamMismatch, field: "cidVersion"},
		{name: "a parameter the token does not sign is a mismatch", p: Params{WrapWithDirectory: &yes}, want: ErrParamMismatch, field: "wrapWithDirectory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.CheckRequest(tt.p)
			wantErr(t, err, tt.want)
			if err != nil {
				if !strings.Contains(err.Error(), tt.field) {
					t.Fatalf("error %q does not name %s", err, tt.field)
				}
				return
			}
			if got.Name != "avatar.png" || !maps.Equal(got.Metadata, map[string]string{"user": "42"}) || *got.CIDVersion != 1 || got.WrapWithDirectory != nil {
				t.Fatalf("effective params %+v", got)
			}
		})
	}
}

func TestUploadClaimsGrantNarrowsTheOwningKey(t *testing.T) {
	c, err := VerifyUploadJWT(mustSignUpload(t, uploadPayload(nil)), lookup, t0)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Grant(apiKeyGrant())
	if err != nil {
		t.Fatal(err)
	}
	if g.Kind != KindUploadJWT || g.CredentialID != "jti-1" || g.Prefix != "usk_aaaaaaaa" || g.IssuerKeyID != "key_1" ||
		g.MaxUploads != 1 || g.Name != "avatar.png" || !g.ExpiresAt.Equal(c.ExpiresAt.Add(Skew)) || len(g.Scopes) != 1 || g.Scopes[0] != ScopeUpload {
		t.Fatalf("grant %+v", g)
	}
	// The grant and the verifier agree on the last valid instant.
	wantErr(t, g.Check(Request{Now: c.ExpiresAt.Add(Skew - time.Second), Scope: ScopeUpload}), nil)
	wantErr(t, g.Check(Request{Now: c.ExpiresAt.Add(Skew), Scope: ScopeUpload}), ErrExpired)
	wantErr(t, g.Check(Request{Now: t0, Scope: ScopePinsRead}), ErrForbidden)

	noUpload := apiKeyGrant()
	noUpload.Scopes = []Scope{ScopePinsRead}
	if _, err := c.Grant(noUpload); !errors.Is(err, ErrForbidden) {
		t.Fatalf("parent without upload scope: %v", err)
	}
	pdfOnly := apiKeyGrant()
	pdfOnly.AllowedMimeTypes = []string{"application/pdf"}
	if _, err := c.Grant(pdfOnly); !errors.Is(err, ErrForbidden) {
		t.Fatalf("token wider than its key's types: %v", err)
	}
	small := apiKeyGrant()
	small.MaxFileBytes = MB
	g, err = c.Grant(small)
	if err != nil || g.MaxFileBytes != MB {
		t.Fatalf("key's smaller size limit must win: %+v %v", g.Constraints, err)
	}
}

// TestAnUploadJWTWithoutAJTIIsSingleUseByItsHash: ImageKit's client upload
// signs no jti; such a JWT's single-use id is the hash of the JWT itself,
// and ImageKit's stringified parameters are read and compared as strings.
func TestAnUploadJWTWithoutAJTIIsSingleUseByItsHash(t *testing.T) {
	tok := mustSignUpload(t, uploadPayload(func(m map[string]any) {
		delete(m, "jti")
		m["fileName"] = "dress.jpg"
		m["useUniqueFileName"] = "false"
		m["tags"] = "summer,dress"
		m["customMetadata"] = `{"brand":"acme","size":38}`
	}))
	c, err := VerifyUploadJWT(tok, lookup, t0)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(tok))
	if c.JTI != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("jti of a JWT without one = %q, want the JWT's own hash", c.JTI)
	}
	tests := []struct {
		name string
		req  Params
		ok   bool
	}{
		{"the same stringified values", Params{Name: "dress.jpg", Fields: map[string]string{"useUniqueFileName": "false", "tags": "summer,dress"}}, true},
		{"the same JSON object, spaced differently", Params{Fields: map[string]string{"customMetadata": `{"size": 38, "brand": "acme"}`}}, true},
		{"another value", Params{Fields: map[string]string{"useUniqueFileName": "true"}}, false},
		{"a parameter the payload lacks", Params{Fields: map[string]string{"folder": "/images/"}}, false},
		{"another file name", Params{Name: "other.jpg"}, false},
	}
	for _, tt := range tests {
		out, err := c.CheckRequest(tt.req)
		if tt.ok != (err == nil) {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !tt.ok && !errors.Is(err, ErrParamMismatch) {
			t.Errorf("%s: %v, want ErrParamMismatch", tt.name, err)
		}
		if tt.ok && (out.Name != "dress.jpg" || out.Fields["tags"] != "summer,dress") {
			t.Errorf("%s: signed parameters not applied: %+v", tt.name, out)
		}
	}
}
