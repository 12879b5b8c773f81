package token

import (
	"errors"
	"testing"
)

func TestFromHeaders(t *testing.T) {
	key := mustOpaque(t, KindAPIKey, 1)
	sup := mustOpaque(t, KindUploadToken, 2)
	upJWT := mustSignUpload(t, uploadPayload(nil))
	acJWT, _ := NewSigner(testEdKey(1)).Issue(accessClaims())
	tests := []struct {
		name    string
		x, auth string
		kind    Kind
		scheme  string
		want    error
	}{
		{name: "an API key in X-Api-Key", x: key, kind: KindAPIKey, scheme: "X-Api-Key"},
		{name: "an API key as Bearer", auth: "Bearer " + key, kind: KindAPIKey, scheme: "Bearer"},
		{name: "the scheme is case-insensitive", auth: "bearer " + key, kind: KindAPIKey, scheme: "Bearer"},
		{name: "an upload token as Signed", auth: "Signed " + sup, kind: KindUploadToken, scheme: "Signed"},
		{name: "an upload token as SIGNED", auth: "SIGNED " + sup, kind: KindUploadToken, scheme: "Signed"},
		{name: "an upload token as Bearer", auth: "Bearer " + sup, kind: KindUploadToken, scheme: "Bearer"},
		{name: "an upload JWT as Bearer", auth: "Bearer " + upJWT, kind: KindUploadJWT, scheme: "Bearer"},
		{name: "an access JWT as Bearer", auth: "Bearer " + acJWT, kind: KindAccessJWT, scheme: "Bearer"},
		{name: "surrounding spaces are ignored", auth: "  Bearer   " + key + " ", kind: KindAPIKey, scheme: "Bearer"},
		{name: "no credential is missing", want: ErrMissing},
		{name: "no credential also matches ErrUnknown", want: ErrUnknown},
		{name: "both headers are refused", x: key, auth: "Bearer " + key, want: ErrMalformed},
		{name: "an upload token in X-Api-Key is refused", x: sup, want: ErrMalformed},
		{name: "an API key as Signed is refused", auth: "Signed " + key, want: ErrMalformed},
		{name: "a JWT as Signed is refused", auth: "Signed " + upJWT, want: ErrMalformed},
		{name: "Basic auth is refused", auth: "Basic dXNlcjpwYXNz", want: ErrMalformed},
		{name: "a scheme without a token is refused", auth: "Bearer", want: ErrMalformed},
		{name: "a bare token without a scheme is refused", auth: key, want: ErrMalformed},
		{name: "a bad checksum is refused", x: key[:len(key)-2] + "aa", want: ErrMalformed},
		{name: "garbage is refused", auth: "Bearer hunter2", want: ErrMalformed},
		{name: "a JWT with a foreign algorithm is refused", auth: "Bearer " + rawJWT(`{"alg":"RS256"}`, `{}`, func([]byte) []byte { return []byte{1} }), want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := FromHeaders(tt.x, tt.auth)
			wantErr(t, err, tt.want)
			if err != nil {
				return
			}
			if p.Kind != tt.kind || p.Scheme != tt.scheme || p.Secret == "" {
				t.Fatalf("got %+v, want kind %v scheme %s", p, tt.kind, tt.scheme)
			}
		})
	}
	if _, err := FromHeaders("", ""); errors.Is(err, ErrMalformed) {
		t.Fatal("missing must not be malformed")
	}
}

func TestLooksLikeJWT(t *testing.T) {
	for s, want := range map[string]bool{
		"eyJhbGciOiJIUzI1NiJ9.eyJ9.c2ln": true,
		"eyJhbGciOiJIUzI1NiJ9.eyJ9.":     false,
		"eyJ..c2ln":                      false,
		"eyJh.eyJ9.c2ln.x":               false,
		"abc.def.ghi":                    false,
		"eyJh.ey+9.c2ln":                 false,
		"bws_aaaa":                       false,
	} {
		if got := LooksLikeJWT(s); got != want {
			t.Errorf("LooksLikeJWT(%q) = %v, want %v", s, got, want)
		}
	}
}
