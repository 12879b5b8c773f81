package token

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// MaxUploadJWTLifetime is the most an upload JWT's exp may exceed its iat.
// It is checked exactly, without Skew: 3600 s passes, 3601 s fails.
const MaxUploadJWTLifetime = time.Hour

// uploadClaimNames are the payload claims an upload JWT may carry. Wire
// names follow the upload API: fileName, metadata, cidVersion,
// wrapWithDirectory bind parameters; maxSizeMB, maxTotalMB (MiB),
// allowedMimeTypes, ipWhitelist, allowedOrigins constrain the upload.
// iss, sub and aud are accepted for the app's own bookkeeping and ignored.
var uploadClaimNames = map[string]bool{
	"iat": true, "exp": true, "nbf": true, "jti": true,
	"iss": true, "sub": true, "aud": true,
	"fileName": true, "metadata": true, "cidVersion": true, "wrapWithDirectory": true,
	"maxSizeMB": true, "maxTotalMB": true, "allowedMimeTypes": true,
	"ipWhitelist": true, "allowedOrigins": true,
}

// UploadClaims are the verified claims of a client-minted upload JWT.
type UploadClaims struct {
	KeyID     string // header kid: the upload-signing key
	JTI       string // single use: the server consumes it atomically
	IssuedAt  time.Time
	ExpiresAt time.Time
	NotBefore time.Time // zero if absent
	// Params are the upload parameters the payload binds (fileName,
	// metadata, cidVersion, wrapWithDirectory).
	Params Params
	// Constraints come from maxSizeMB, maxTotalMB, allowedMimeTypes,
	// ipWhitelist and allowedOrigins; ExpiresAt is left zero (see Grant).
	Constraints Constraints
	// Raw is the whole decoded payload (numbers as json.Number).
	Raw map[string]any
}

// VerifyUploadJWT verifies a client-minted upload JWT and returns its
// claims. The rules, each an ErrMalformed unless noted:
//
//   - compact JWS only: JSON serialisation and JWE (five parts) are refused;
//   - the algorithm is pinned to HS256 by the key kind, never taken from the
//     token: "none", HS384/HS512, RS*/ES*/EdDSA headers are refused;
//   - header kid is required and must be a signing key id (usk_…); lookup
//     returns its secret, and its error passes through unchanged (wrap
//     ErrUnknown or ErrRevoked there);
//   - the HMAC is checked in constant time (jwx, hmac.Equal);
//   - iat, exp and jti are required; 0 < exp - iat <= 3600 s exactly;
//   - exp, nbf and a future iat are checked against now with Skew
//     (ErrExpired);
//   - claims ninja does not know are refused, so nothing the app signs is
//     silently ignored.
//
// Replay (jti) is the store's job: consume it atomically on first sight.
func VerifyUploadJWT(compact string, lookup func(kid string) (secret []byte, err error), now time.Time) (*UploadClaims, error) {
	h, err := splitJWT(compact)
	if err != nil {
		return nil, err
	}
	if h.Alg != "HS256" {
		return nil, fmt.Errorf("%w: upload jwt algorithm must be HS256, got %q", ErrMalformed, h.Alg)
	}
	if h.Kid == "" {
		return nil, fmt.Errorf("%w: upload jwt header kid required", ErrMalformed)
	}
	if !ValidSigningKeyID(h.Kid) {
		return nil, fmt.Errorf("%w: upload jwt kid is not a signing key id", ErrMalformed)
	}
	secret, err := lookup(h.Kid)
	if err != nil {
		return nil, fmt.Errorf("upload jwt key %s: %w", h.Kid, err)
	}
	if len(secret) == 0 {
		return nil, fmt.Errorf("%w: upload jwt key %s has no secret", ErrUnknown, h.Kid)
	}
	// VerifyCompactFast re-checks that the header's alg equals HS256 and
	// refuses crit/b64 headers; the key is a raw []byte, so no other
	// algorithm family can be selected.
	payload, err := jws.VerifyCompactFast(secret, []byte(compact), jwa.HS256())
	if err != nil {
		return nil, fmt.Errorf("%w: upload jwt signature invalid", ErrMalformed)
	}
	c, err := parseUploadClaims(payload)
	if err != nil {
		return nil, err
	}
	c.KeyID = h.Kid
	if err := checkWindow(now, c.IssuedAt, c.ExpiresAt, c.NotBefore); err != nil {
		return nil, err
	}
	return c, nil
}

func parseUploadClaims(payload []byte) (*UploadClaims, error) {
	cs, err := decodeClaims(payload)
	if err != nil {
		return nil, err
	}
	if err := cs.checkKnown(uploadClaimNames); err != nil {
		return nil, err
	}
	c := &UploadClaims{Raw: cs}
	if c.IssuedAt, err = cs.date("iat", true); err != nil {
		return nil, err
	}
	if c.ExpiresAt, err = cs.date("exp", true); err != nil {
		return nil, err
	}
	if c.NotBefore, err = cs.date("nbf", false); err != nil {
		return nil, err
	}
	if c.JTI, err = cs.str("jti", true); err != nil {
		return nil, err
	}
	if !validJTI(c.JTI) {
		return nil, fmt.Errorf("%w: jti must be 1-128 printable ASCII characters", ErrMalformed)
	}
	life := c.ExpiresAt.Sub(c.IssuedAt)
	if life <= 0 || life > MaxUploadJWTLifetime {
		return nil, fmt.Errorf("%w: exp - iat is %d s, must be 1..%d", ErrMalformed, int64(life/time.Second), int64(MaxUploadJWTLifetime/time.Second))
	}
	if c.Params, err = uploadParams(cs); err != nil {
		return nil, err
	}
	if c.Constraints, err = uploadConstraints(cs); err != nil {
		return nil, err
	}
	return c, nil
}

func uploadParams(cs claimSet) (Params, error) {
	var p Params
	var err error
	if p.Name, err = cs.str("fileName", false); err != nil {
		return p, err
	}
	if v, ok := cs["metadata"]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			return p, fmt.Errorf("%w: jwt claim \"metadata\" must be an object", ErrMalformed)
		}
		p.Metadata = make(map[string]string, len(m))
		for k, x := range m {
			s, ok := x.(string)
			if !ok {
				return p, fmt.Errorf("%w: jwt claim metadata.%s must be a string", ErrMalformed, k)
			}
			p.Metadata[k] = s
		}
	}
	if v, ok := cs["cidVersion"]; ok {
		n, ok := v.(json.Number)
		if !ok || (n.String() != "0" && n.String() != "1") {
			return p, fmt.Errorf("%w: jwt claim \"cidVersion\" must be 0 or 1", ErrMalformed)
		}
		cv := int(n.String()[0] - '0')
		p.CIDVersion = &cv
	}
	if v, ok := cs["wrapWithDirectory"]; ok {
		b, ok := v.(bool)
		if !ok {
			return p, fmt.Errorf("%w: jwt claim \"wrapWithDirectory\" must be a boolean", ErrMalformed)
		}
		p.WrapWithDirectory = &b
	}
	return p, nil
}

// uploadConstraints reuses the HTTP API's wire parsers, but reports their
// errors as ErrMalformed: a bad value inside a signed token is a bad
// credential, not a bad request body.
func uploadConstraints(cs claimSet) (Constraints, error) {
	var c Constraints
	var err error
	bad := func(claim string, err error) (Constraints, error) {
		return Constraints{}, fmt.Errorf("%w: jwt claim %q: %v", ErrMalformed, claim, err)
	}
	if c.MaxFileBytes, err = ParseMB(cs.raw("maxSizeMB")); err != nil {
		return bad("maxSizeMB", err)
	}
	if c.MaxTotalBytes, err = ParseMB(cs.raw("maxTotalMB")); err != nil {
		return bad("maxTotalMB", err)
	}
	list, err := cs.strings("allowedMimeTypes")
	if err != nil {
		return Constraints{}, err
	}
	if c.AllowedMimeTypes, err = ParseMimeTypes(list); err != nil {
		return bad("allowedMimeTypes", err)
	}
	if list, err = cs.strings("ipWhitelist"); err != nil {
		return Constraints{}, err
	}
	if c.IPAllow, err = ParseCIDRs(list); err != nil {
		return bad("ipWhitelist", err)
	}
	if list, err = cs.strings("allowedOrigins"); err != nil {
		return Constraints{}, err
	}
	if c.AllowedOrigins, err = ParseOrigins(list); err != nil {
		return bad("allowedOrigins", err)
	}
	// Empty lists mean "no restriction" everywhere else; keep them nil so
	// the claims compare like an absent claim.
	c.AllowedMimeTypes = nilIfEmpty(c.AllowedMimeTypes)
	c.IPAllow = nilIfEmpty(c.IPAllow)
	c.AllowedOrigins = nilIfEmpty(c.AllowedOrigins)
	return c, nil
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// CheckRequest applies the upload JWT's binding to the request's params
// and returns the effective params. ImageKit's rule: every parameter the
// request supplies must be in the signed payload with the same value
// (ErrParamMismatch naming the field), so a browser cannot add or change
// anything the app's backend did not sign; metadata must be equal as a
// whole. A parameter the payload signs and the request omits is applied.
func (c *UploadClaims) CheckRequest(p Params) (Params, error) {
	s := c.Params
	out := s
	if p.Name != "" {
		if s.Name == "" || p.Name != s.Name {
			return Params{}, mismatch("fileName", p.Name, s.Name, s.Name != "")
		}
	}
	if p.Metadata != nil {
		if s.Metadata == nil || !maps.Equal(p.Metadata, s.Metadata) {
			return Params{}, mismatch("metadata", p.Metadata, s.Metadata, s.Metadata != nil)
		}
	}
	if p.CIDVersion != nil {
		if s.CIDVersion == nil || *p.CIDVersion != *s.CIDVersion {
			return Params{}, mismatch("cidVersion", *p.CIDVersion, deref(s.CIDVersion), s.CIDVersion != nil)
		}
	}
	if p.WrapWithDirectory != nil {
		if s.WrapWithDirectory == nil || *p.WrapWithDirectory != *s.WrapWithDirectory {
			return Params{}, mismatch("wrapWithDirectory", *p.WrapWithDirectory, deref(s.WrapWithDirectory), s.WrapWithDirectory != nil)
		}
	}
	out.Metadata = maps.Clone(s.Metadata)
	return out, nil
}

func deref[T any](p *T) (v T) {
	if p != nil {
		v = *p
	}
	return v
}

func mismatch(field string, got, signed any, isSigned bool) error {
	if !isSigned {
		return fmt.Errorf("%w: %s: request sets %v but the token does not sign it", ErrParamMismatch, field, got)
	}
	return fmt.Errorf("%w: %s: request sets %v, token signs %v", ErrParamMismatch, field, got, signed)
}

// Grant derives the upload JWT's grant from parent, the grant of the API
// key that owns the signing key: scope upload only, one upload (the jti is
// single use), the payload's constraints, bound fileName and metadata, and
// an expiry of exp + Skew so Grant.Check agrees with VerifyUploadJWT.
// CredentialID is the jti; Prefix is the signing key's display prefix
// ("usk_xxxxxxxx"), recorded on analytics.
func (c *UploadClaims) Grant(parent Grant) (Grant, error) {
	cc := c.Constraints
	cc.ExpiresAt = c.ExpiresAt.Add(Skew)
	cc.MaxUploads = 1
	cc.Name = c.Params.Name
	cc.Metadata = c.Params.Metadata
	g, err := parent.Narrow(KindUploadJWT, []Scope{ScopeUpload}, cc)
	if err != nil {
		return Grant{}, fmt.Errorf("upload jwt: %w", err)
	}
	g.CredentialID = c.JTI
	g.Prefix = DisplayPrefix(c.KeyID)
	return g, nil
}

// SignUploadJWT signs claims as an upload JWT (HS256, header kid) with an
// upload-signing secret: what an app's backend does, offered for tests,
// the CLI and the docs. claims are the payload as is; include iat, exp
// (at most 3600 s later) and a fresh jti.
func SignUploadJWT(kid string, secret []byte, claims map[string]any) (string, error) {
	if !ValidSigningKeyID(kid) {
		return "", fmt.Errorf("%w: %q is not a signing key id", ErrBadRequest, kid)
	}
	if len(secret) == 0 {
		return "", fmt.Errorf("%w: empty signing secret", ErrBadRequest)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("sign upload jwt: %w", err)
	}
	return signCompact(payload, jwa.HS256(), secret, kid)
}

// signCompact signs payload with jwx, header {alg, kid, typ: JWT}.
func signCompact(payload []byte, alg jwa.SignatureAlgorithm, key any, kid string) (string, error) {
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
		return "", fmt.Errorf("sign jwt: %w", err)
	}
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		return "", fmt.Errorf("sign jwt: %w", err)
	}
	out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("sign jwt: %w", err)
	}
	return string(out), nil
}
