package token

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// accessClaimNames are the payload claims of an access JWT; ninja mints
// these itself, so anything else is a forgery attempt or a version skew.
var accessClaimNames = map[string]bool{
	"sub": true, "key": true, "scopes": true, "iat": true, "exp": true, "jti": true, "maxUses": true,
	"publishName": true,
}

// AccessClaims are the claims of a server-issued access JWT (Pinata-style
// scoped API token). They never contain a secret: the JWT is a bearer
// credential whose payload anyone holding it can read.
type AccessClaims struct {
	Subject   string    // "sub": the account id
	KeyID     string    // "key": the id (key_…) of the API key that issued it
	Scopes    []Scope   // "scopes": non-empty, within the issuing key's
	IssuedAt  time.Time // "iat"
	ExpiresAt time.Time // "exp": required, access JWTs always expire
	JTI       string    // "jti": the record the server can revoke or count
	MaxUses   int64     // "maxUses": 0 = unlimited; counted by the store
	// PublishName ("publishName") is the one IPNS name the JWT may publish
	// to (see Constraints.PublishName); "": none.
	PublishName string
}

// Signer issues and verifies access JWTs with the server's Ed25519 key.
// It is safe for concurrent use.
type Signer struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	kid  string
}

// NewSigner returns a Signer for priv. Its key id is derived from the
// public key (base64url of the first 8 bytes of its SHA-256), so it is
// stable across restarts and changes when the key is rotated.
func NewSigner(priv ed25519.PrivateKey) *Signer {
	pub := priv.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	return &Signer{priv: priv, pub: pub, kid: b64.EncodeToString(sum[:8])}
}

// KeyID returns the signer's kid, as found in every access JWT header and
// in the JWKS.
func (s *Signer) KeyID() string { return s.kid }

// Issue signs c as a compact EdDSA JWS with header kid. Subject, KeyID,
// JTI, at least one valid scope, IssuedAt and an ExpiresAt after it are
// required (ErrBadRequest otherwise).
func (s *Signer) Issue(c AccessClaims) (string, error) {
	switch {
	case c.Subject == "" || c.KeyID == "":
		return "", fmt.Errorf("%w: access jwt needs subject and key id", ErrBadRequest)
	case !validJTI(c.JTI):
		return "", fmt.Errorf("%w: access jwt needs a jti", ErrBadRequest)
	case len(c.Scopes) == 0:
		return "", fmt.Errorf("%w: access jwt needs at least one scope", ErrBadRequest)
	case c.IssuedAt.IsZero() || !c.ExpiresAt.After(c.IssuedAt):
		return "", fmt.Errorf("%w: access jwt needs iat and a later exp", ErrBadRequest)
	case c.MaxUses < 0:
		return "", fmt.Errorf("%w: maxUses must not be negative", ErrBadRequest)
	}
	for _, sc := range c.Scopes {
		if !sc.Valid() {
			return "", fmt.Errorf("%w: unknown scope %q", ErrBadRequest, sc)
		}
	}
	payload := map[string]any{
		"sub":    c.Subject,
		"key":    c.KeyID,
		"scopes": c.Scopes,
		"iat":    c.IssuedAt.Unix(),
		"exp":    c.ExpiresAt.Unix(),
		"jti":    c.JTI,
	}
	if c.MaxUses > 0 {
		payload["maxUses"] = c.MaxUses
	}
	if c.PublishName != "" {
		payload["publishName"] = c.PublishName
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("issue access jwt: %w", err)
	}
	return signCompact(b, jwa.EdDSA(), s.priv, s.kid)
}

// Verify verifies an access JWT with the same strictness as
// VerifyUploadJWT: compact only, algorithm pinned to EdDSA (an HS256 token,
// even one keyed with the public key's bytes, is refused), kid must be this
// signer's (else ErrUnknown: a rotated-out key), only ninja's claims, iat,
// exp, jti required, exp checked with Skew (ErrExpired). Revocation and
// MaxUses are the store's job.
func (s *Signer) Verify(compact string, now time.Time) (*AccessClaims, error) {
	h, err := splitJWT(compact)
	if err != nil {
		return nil, err
	}
	if h.Alg != "EdDSA" {
		return nil, fmt.Errorf("%w: access jwt algorithm must be EdDSA, got %q", ErrMalformed, h.Alg)
	}
	if h.Kid == "" {
		return nil, fmt.Errorf("%w: access jwt header kid required", ErrMalformed)
	}
	if h.Kid != s.kid {
		return nil, fmt.Errorf("%w: access jwt signed by unknown key %q", ErrUnknown, h.Kid)
	}
	payload, err := jws.VerifyCompactFast(s.pub, []byte(compact), jwa.EdDSA())
	if err != nil {
		return nil, fmt.Errorf("%w: access jwt signature invalid", ErrMalformed)
	}
	c, err := parseAccessClaims(payload)
	if err != nil {
		return nil, err
	}
	if err := checkWindow(now, c.IssuedAt, c.ExpiresAt, time.Time{}); err != nil {
		return nil, err
	}
	return c, nil
}

func parseAccessClaims(payload []byte) (*AccessClaims, error) {
	cs, err := decodeClaims(payload)
	if err != nil {
		return nil, err
	}
	if err := cs.checkKnown(accessClaimNames); err != nil {
		return nil, err
	}
	c := &AccessClaims{}
	if c.Subject, err = cs.str("sub", true); err != nil {
		return nil, err
	}
	if c.KeyID, err = cs.str("key", true); err != nil {
		return nil, err
	}
	if c.JTI, err = cs.str("jti", true); err != nil {
		return nil, err
	}
	if c.IssuedAt, err = cs.date("iat", true); err != nil {
		return nil, err
	}
	if c.ExpiresAt, err = cs.date("exp", true); err != nil {
		return nil, err
	}
	if !c.ExpiresAt.After(c.IssuedAt) {
		return nil, fmt.Errorf("%w: access jwt exp must be after iat", ErrMalformed)
	}
	names, err := cs.strings("scopes")
	if err != nil {
		return nil, err
	}
	if c.Scopes, err = ParseScopes(names); err != nil || len(c.Scopes) == 0 {
		return nil, fmt.Errorf("%w: access jwt scopes invalid", ErrMalformed)
	}
	if c.PublishName, err = cs.str("publishName", false); err != nil {
		return nil, err
	}
	if v, ok := cs["maxUses"]; ok {
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%w: maxUses must be a number", ErrMalformed)
		}
		if c.MaxUses, err = n.Int64(); err != nil || c.MaxUses < 0 {
			return nil, fmt.Errorf("%w: maxUses must be a non-negative integer", ErrMalformed)
		}
	}
	return c, nil
}

// JWKS returns the public JWK Set (one OKP Ed25519 key with kid, alg EdDSA,
// use sig) served at /.well-known/jwks.json.
func (s *Signer) JWKS() ([]byte, error) {
	k, err := jwk.Import(s.pub)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	for name, v := range map[string]any{jwk.KeyIDKey: s.kid, jwk.AlgorithmKey: jwa.EdDSA(), jwk.KeyUsageKey: "sig"} {
		if err := k.Set(name, v); err != nil {
			return nil, fmt.Errorf("jwks: set %s: %w", name, err)
		}
	}
	set := jwk.NewSet()
	if err := set.AddKey(k); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	return b, nil
}

// Grant derives the access JWT's grant from parent, the grant of the API
// key that issued it (KeyID) in account Subject: the JWT's scopes (within
// the key's, else ErrForbidden), expiry exp + Skew, MaxUses. CredentialID
// is the jti; Prefix is the issuing key's, so analytics attribute the
// JWT's traffic to that key.
func (c *AccessClaims) Grant(parent Grant) (Grant, error) {
	if parent.AccountID != c.Subject || parent.CredentialID != c.KeyID {
		return Grant{}, fmt.Errorf("%w: access jwt was issued by key %s of account %s, not by this key", ErrForbidden, c.KeyID, c.Subject)
	}
	g, err := parent.Narrow(KindAccessJWT, c.Scopes, Constraints{ExpiresAt: c.ExpiresAt.Add(Skew), MaxUses: c.MaxUses, PublishName: c.PublishName})
	if err != nil {
		return Grant{}, fmt.Errorf("access jwt: %w", err)
	}
	g.CredentialID = c.JTI
	g.Prefix = parent.Prefix
	return g, nil
}
