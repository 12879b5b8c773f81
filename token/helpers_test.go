package token

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// rnd returns a deterministic random source so tests are reproducible.
func rnd(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

// t0 is the fixed "now" of every test.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustOpaque(t testing.TB, k Kind, seed byte) string {
	t.Helper()
	s, err := NewOpaque(k, rnd(seed))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testEdKey(seed byte) ed25519.PrivateKey {
	var s [32]byte
	s[0] = seed
	return ed25519.NewKeyFromSeed(s[:])
}

// rawJWT assembles a compact JWS from arbitrary header and payload JSON,
// signed by sign (nil: empty signature). It lets tests build tokens no
// well-behaved library would produce.
func rawJWT(header, payload string, sign func(input []byte) []byte) string {
	in := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	var sig []byte
	if sign != nil {
		sig = sign([]byte(in))
	}
	return in + "." + b64.EncodeToString(sig)
}

func hs256(key []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantErr checks err against a sentinel (nil: success expected).
func wantErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error = %v, want %v", err, want)
	}
}

// sentinels are the package's sentinel errors: every error it returns
// wraps one of them.
var sentinels = []error{ErrMalformed, ErrUnknown, ErrMissing, ErrExpired, ErrRevoked, ErrForbidden, ErrExhausted,
	ErrIPNotAllowed, ErrOriginNotAllowed, ErrSizeExceeded, ErrMimeNotAllowed, ErrParamMismatch, ErrReplayed, ErrBadRequest}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
