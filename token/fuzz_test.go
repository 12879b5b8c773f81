package token

import (
	"errors"
	"testing"
	"time"
)

// Every function here sees attacker-controlled input; the properties are:
// never panic, every error wraps a sentinel, and whatever is accepted
// re-validates.

func FuzzParseOpaque(f *testing.F) {
	f.Add(mustOpaque(f, KindAPIKey, 1))
	f.Add(mustOpaque(f, KindUploadToken, 2))
	f.Add("bws_")
	f.Add("sup_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseOpaque(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(s) != OpaqueLen || s[:4] != k.Prefix() {
			t.Fatalf("accepted %q as %v", s, k)
		}
		if k2, err := ParseOpaque(s); err != nil || k2 != k {
			t.Fatalf("re-validation of %q: %v %v", s, k2, err)
		}
		if _, err := Classify(s); err != nil {
			t.Fatalf("Classify refused accepted %q: %v", s, err)
		}
	})
}

func FuzzFromHeaders(f *testing.F) {
	key := mustOpaque(f, KindAPIKey, 1)
	sup := mustOpaque(f, KindUploadToken, 2)
	f.Add(key, "")
	f.Add("", "Bearer "+key)
	f.Add("", "Signed "+sup)
	f.Add("", "bearer "+mustSignUpload(f, uploadPayload(nil)))
	f.Add("", "Basic Zm9vOmJhcg==")
	f.Add(key, "Bearer "+key)
	f.Add("", "")
	f.Add("", "Bearer eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, x, auth string) {
		p, err := FromHeaders(x, auth)
		if err != nil {
			// Every refusal is an authentication failure (401), nothing else.
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknown) {
				t.Fatalf("FromHeaders error %v is neither malformed nor missing", err)
			}
			return
		}
		if p.Secret == "" || p.Scheme == "" {
			t.Fatalf("accepted empty credential: %+v", p)
		}
		k, err := Classify(p.Secret)
		if err != nil || k != p.Kind {
			t.Fatalf("accepted %+v does not re-classify: %v %v", p, k, err)
		}
	})
}

func FuzzVerifyUploadJWT(f *testing.F) {
	good := mustSignUpload(f, uploadPayload(nil))
	f.Add(good)
	f.Add(rawJWT(`{"alg":"none","kid":"`+testKid+`"}`, `{"iat":1}`, nil))
	f.Add(rawJWT(`{"alg":"HS256","kid":"`+testKid+`","crit":["b64"],"b64":false}`, `{}`, hs256([]byte(testSecret))))
	f.Add(`{"payload":"e30","signatures":[]}`)
	f.Add("eyJ.eyJ.eyJ.eyJ.eyJ")
	f.Add(rawJWT(`{"alg":"HS256","kid":"`+testKid+`"}`, `{"iat":1e400,"exp":-1,"jti":null}`, hs256([]byte(testSecret))))
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := VerifyUploadJWT(tok, lookup, t0)
		if err != nil {
			if !wrapsSentinel(err) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		life := c.ExpiresAt.Sub(c.IssuedAt)
		if c.JTI == "" || life <= 0 || life > time.Hour || c.KeyID != testKid {
			t.Fatalf("accepted bad claims %+v", c)
		}
		if _, err := VerifyUploadJWT(tok, lookup, t0); err != nil {
			t.Fatalf("re-verification failed: %v", err)
		}
	})
}

func FuzzSniffAndCheckMime(f *testing.F) {
	f.Add([]byte("\x89PNG\r\n\x1a\n"), "image/png")
	f.Add([]byte("MZ"), "image/png")
	f.Add([]byte(`{"a":1}`), "application/json")
	f.Add([]byte("\x00\x00\x00\x18ftypheic"), "image/heic")
	f.Fuzz(func(t *testing.T, head []byte, declared string) {
		typ := Sniff(head)
		if typ == "" {
			t.Fatal("Sniff returned nothing")
		}
		err := CheckMime([]string{"image/*"}, File{Size: int64(len(head)), DeclaredType: declared, SniffedType: typ})
		if err == nil && !MatchMime("image/*", typ) {
			t.Fatalf("non-image %q allowed by image/*", typ)
		}
	})
}

func FuzzParseExpiresIn(f *testing.F) {
	for _, s := range []string{`3600`, `"1h"`, `"7d"`, `null`, `1e309`, `"9999999999d"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := ParseExpiresIn(raw)
		if err == nil && (d < 0 || d > MaxExpiresIn) {
			t.Fatalf("accepted %s as %v", raw, d)
		}
	})
}
