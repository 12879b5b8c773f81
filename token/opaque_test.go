package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

func TestNewOpaqueRoundTrips(t *testing.T) {
	for _, k := range []Kind{KindAPIKey, KindUploadToken} {
		s := mustOpaque(t, k, 1)
		if len(s) != OpaqueLen || !strings.HasPrefix(s, k.Prefix()) {
			t.Fatalf("%v: got %q (len %d), want prefix %q and length %d", k, s, len(s), k.Prefix(), OpaqueLen)
		}
		got, err := ParseOpaque(s)
		if err != nil || got != k {
			t.Fatalf("ParseOpaque(%q) = %v, %v; want %v", s, got, err, k)
		}
		if p := DisplayPrefix(s); len(p) != DisplayLen || !strings.HasPrefix(s, p) {
			t.Fatalf("DisplayPrefix = %q", p)
		}
	}
	if a, b := mustOpaque(t, KindAPIKey, 1), mustOpaque(t, KindAPIKey, 2); a == b {
		t.Fatal("different randomness gave the same token")
	}
}

func TestNewOpaqueRefusesJWTKindsAndShortRandomness(t *testing.T) {
	if _, err := NewOpaque(KindUploadJWT, rnd(1)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("jwt kind: %v", err)
	}
	if _, err := NewOpaque(KindAPIKey, iotest.ErrReader(errors.New("boom"))); err == nil {
		t.Fatal("failing reader accepted")
	}
}

func TestParseOpaqueRejects(t *testing.T) {
	good := mustOpaque(t, KindUploadToken, 3)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	// The last character carries 2 data bits and 3 zero bits: setting one
	// of the zero bits gives a second spelling, which must be refused.
	last := good[len(good)-1]
	alt := good[:len(good)-1] + string(alphabet[(strings.IndexByte(alphabet, last))|1])
	tests := []struct {
		name string
		in   string
	}{
		{"an empty string is refused", ""},
		{"a token one character short is refused", good[:len(good)-1]},
		{"a token one character long is refused", good + "a"},
		{"an unknown prefix is refused", "xyz_" + good[4:]},
		{"an upper-case prefix is refused", "SUP_" + good[4:]},
		{"upper-case base32 is refused", good[:4] + strings.ToUpper(good[4:])},
		{"a character outside the alphabet is refused", good[:10] + "1" + good[11:]},
		{"a typo in the random part fails the checksum", flip(good, 10)},
		{"a typo in the checksum fails it", flip(good, len(good)-3)},
		{"a changed prefix fails the checksum", "bws_" + good[4:]},
		{"non-canonical trailing bits are refused", alt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in == good {
				t.Skip("mutation produced the original")
			}
			if _, err := ParseOpaque(tt.in); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseOpaque(%q) = %v, want ErrMalformed", tt.in, err)
			}
		})
	}
}

func TestHasherIsHMACSHA256AndConcurrencySafe(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	h := NewHasher(secret)
	tok := mustOpaque(t, KindAPIKey, 4)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(tok))
	var want [32]byte
	copy(want[:], m.Sum(nil))
	if got := h.Sum(tok); !Equal(got, want) {
		t.Fatalf("Sum = %x, want %x", got, want)
	}
	if other := NewHasher([]byte("another secret, just as long....")); Equal(other.Sum(tok), want) {
		t.Fatal("a different secret gave the same hash")
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 200 {
				if got := h.Sum(tok); !Equal(got, want) {
					t.Errorf("goroutine %d: hash changed", i)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNewHasherPanicsOnShortSecret(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NewHasher([]byte("short"))
}

func TestSigningKeyIDsAndSecretsHaveTheirShape(t *testing.T) {
	kid, err := NewSigningKeyID(rnd(5))
	if err != nil {
		t.Fatal(err)
	}
	if !ValidSigningKeyID(kid) || !strings.HasPrefix(kid, "usk_") {
		t.Fatalf("kid %q not valid", kid)
	}
	for _, bad := range []string{"", "usk_", kid + "a", "usk_" + strings.ToUpper(kid[4:]), "bws_" + kid[4:]} {
		if ValidSigningKeyID(bad) {
			t.Errorf("ValidSigningKeyID(%q) = true", bad)
		}
	}
	sec, err := NewSigningSecret(rnd(6))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sec, "uss_") || len(sec) != 4+52 {
		t.Fatalf("secret %q", sec)
	}
	id, _ := NewID("tok_", rnd(7))
	jti, _ := NewJTI(rnd(8))
	if !strings.HasPrefix(id, "tok_") || len(id) != 20 || len(jti) != 26 {
		t.Fatalf("id %q jti %q", id, jti)
	}
}
