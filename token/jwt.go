package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Skew is the clock tolerance applied to a JWT's exp, nbf and iat-in-the-
// future checks, for app backends whose clocks drift a little. It is never
// applied to the exp - iat lifetime rule, which is exact.
const Skew = 30 * time.Second

// MaxJWTLen bounds the compact JWTs this package will look at, so an
// attacker cannot make the server base64-decode and parse megabytes.
const MaxJWTLen = 8 << 10

var b64 = base64.RawURLEncoding.Strict()

// LooksLikeJWT reports cheaply whether s has the shape of a compact JWS
// with a JSON header: "eyJ…", three non-empty base64url segments, at most
// MaxJWTLen bytes. It does not decode anything.
func LooksLikeJWT(s string) bool {
	if len(s) > MaxJWTLen || !strings.HasPrefix(s, "eyJ") {
		return false
	}
	dots, seg := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if seg == 0 {
				return false
			}
			dots, seg = dots+1, 0
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			seg++
		default:
			return false
		}
	}
	return dots == 2 && seg > 0
}

// jwsHeader is the protected header of the JWTs ninja accepts. Only alg,
// kid and typ are allowed: crit, b64, jku, jwk, x5u, x5c and friends let a
// token steer how it is verified, and ninja never lets it.
type jwsHeader struct {
	Alg string
	Kid string
	Typ string
}

// splitJWT checks the compact serialisation and decodes the header. It
// refuses JSON serialisation, JWE (five parts) and anything else with
// ErrMalformed.
func splitJWT(compact string) (jwsHeader, error) {
	var h jwsHeader
	if len(compact) > MaxJWTLen {
		return h, fmt.Errorf("%w: jwt longer than %d bytes", ErrMalformed, MaxJWTLen)
	}
	t := strings.TrimSpace(compact)
	if strings.HasPrefix(t, "{") {
		return h, fmt.Errorf("%w: JWS JSON serialisation not accepted, use compact", ErrMalformed)
	}
	switch n := strings.Count(compact, "."); {
	case n == 4:
		return h, fmt.Errorf("%w: encrypted JWT (JWE) not accepted", ErrMalformed)
	case n != 2 || !LooksLikeJWT(compact):
		return h, fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	raw, err := b64.DecodeString(compact[:strings.IndexByte(compact, '.')])
	if err != nil {
		return h, fmt.Errorf("%w: jwt header: %v", ErrMalformed, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return h, fmt.Errorf("%w: jwt header: %v", ErrMalformed, err)
	}
	for k, v := range fields {
		var dst *string
		switch k {
		case "alg":
			dst = &h.Alg
		case "kid":
			dst = &h.Kid
		case "typ":
			dst = &h.Typ
		default:
			return h, fmt.Errorf("%w: jwt header %q not accepted", ErrMalformed, k)
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return h, fmt.Errorf("%w: jwt header %q must be a string", ErrMalformed, k)
		}
	}
	if h.Typ != "" && !strings.EqualFold(h.Typ, "JWT") {
		return h, fmt.Errorf("%w: jwt typ %q not accepted", ErrMalformed, h.Typ)
	}
	return h, nil
}

// JWTKind tells an upload JWT (HS256) from an access JWT (EdDSA) by its
// header, without verifying anything: the caller then verifies with the one
// key that kind allows. Any other shape or algorithm is ErrMalformed.
func JWTKind(compact string) (Kind, error) {
	h, err := splitJWT(compact)
	if err != nil {
		return 0, err
	}
	switch h.Alg {
	case "HS256":
		return KindUploadJWT, nil
	case "EdDSA":
		return KindAccessJWT, nil
	}
	return 0, fmt.Errorf("%w: jwt algorithm %q not accepted", ErrMalformed, h.Alg)
}

// claimSet is a decoded JWT payload with typed accessors that report
// malformed claims as ErrMalformed.
type claimSet map[string]any

func decodeClaims(payload []byte) (claimSet, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: jwt payload is not a JSON object", ErrMalformed)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after jwt payload", ErrMalformed)
	}
	return m, nil
}

// checkKnown refuses claims outside known: a claim ninja does not
// understand (say "name" instead of "fileName") would otherwise be signed
// by the app and silently not enforced.
func (c claimSet) checkKnown(known map[string]bool) error {
	for k := range c {
		if !known[k] {
			return fmt.Errorf("%w: unknown jwt claim %q", ErrMalformed, k)
		}
	}
	return nil
}

// date returns a NumericDate claim (whole seconds since the epoch).
func (c claimSet) date(name string, required bool) (time.Time, error) {
	v, ok := c[name]
	if !ok {
		if required {
			return time.Time{}, fmt.Errorf("%w: jwt claim %q required", ErrMalformed, name)
		}
		return time.Time{}, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: jwt claim %q must be a number", ErrMalformed, name)
	}
	sec, err := n.Int64()
	// Bounded to years 1970..9999 so arithmetic on it cannot overflow.
	if err != nil || sec < 0 || sec > 253402300799 {
		return time.Time{}, fmt.Errorf("%w: jwt claim %q must be whole seconds since 1970", ErrMalformed, name)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func (c claimSet) str(name string, required bool) (string, error) {
	v, ok := c[name]
	if !ok {
		if required {
			return "", fmt.Errorf("%w: jwt claim %q required", ErrMalformed, name)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok || required && s == "" {
		return "", fmt.Errorf("%w: jwt claim %q must be a non-empty string", ErrMalformed, name)
	}
	return s, nil
}

func (c claimSet) strings(name string) ([]string, error) {
	v, ok := c[name]
	if !ok {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: jwt claim %q must be an array of strings", ErrMalformed, name)
	}
	out := make([]string, len(list))
	for i, x := range list {
		if out[i], ok = x.(string); !ok {
			return nil, fmt.Errorf("%w: jwt claim %q must be an array of strings", ErrMalformed, name)
		}
	}
	return out, nil
}

// raw returns a claim re-encoded as JSON, for the wire parsers that take
// json.RawMessage.
func (c claimSet) raw(name string) json.RawMessage {
	v, ok := c[name]
	if !ok {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// validJTI bounds a jti to what a store key can hold safely.
func validJTI(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// checkWindow applies the time rules shared by both JWT kinds: exp (with
// Skew), nbf and iat (not in the future beyond Skew).
func checkWindow(now, iat, exp, nbf time.Time) error {
	if !now.Before(exp.Add(Skew)) {
		return fmt.Errorf("%w: jwt expired at %s", ErrExpired, exp.Format(time.RFC3339))
	}
	if now.Add(Skew).Before(iat) {
		return fmt.Errorf("%w: jwt issued in the future (%s)", ErrExpired, iat.Format(time.RFC3339))
	}
	if !nbf.IsZero() && now.Add(Skew).Before(nbf) {
		return fmt.Errorf("%w: jwt not valid before %s", ErrExpired, nbf.Format(time.RFC3339))
	}
	return nil
}
