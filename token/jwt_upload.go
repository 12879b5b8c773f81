package token

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
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
var uploadClaimNames = func() map[string]bool {
	m := map[string]bool{
		"iat": true, "exp": true, "nbf": true, "jti": true,
		"iss": true, "sub": true, "aud": true,
		"fileName": true, "description": true, "metadata": true, "cidVersion": true, "wrapWithDirectory": true,
		"maxSizeMB": true, "maxTotalMB": true, "allowedMimeTypes": true,
		"ipWhitelist": true, "allowedOrigins": true,
	}
	for _, k := range ImageKitParams() {
		m[k] = true
	}
	return m
}()

// ImageKitParams are the upload parameters of ImageKit's upload API that an
// upload JWT may sign besides fileName and description (ImageKit's client
// upload signs "all the parameters except file and token", their values
// "in stringified form"). The request must send each signed one with the
// same value; what ninja does with each is the domain's (package pinning).
func ImageKitParams() []string {
	return []string{"useUniqueFileName", "tags", "folder", "isPrivateFile", "isPublished", "customCoordinates",
		"responseFields", "extensions", "webhookUrl", "overwriteFile", "overwriteAITags", "overwriteTags",
		"overwriteCustomMetadata", "customMetadata", "transformation", "checks"}
}

// UploadClaims are the verified claims of a client-minted upload JWT.
type UploadClaims struct {
	KeyID string // header kid: the upload-signing key
	// JTI is the payload's jti, or, for a JWT without one (ImageKit's
	// client upload signs none), "sha256:" and the hex SHA-256 of the
	// compact JWT itself: the id of its single use either way, which the
	// server consumes atomically.
	JTI       string
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
//   - iat and exp are required; 0 < exp - iat <= 3600 s exactly; jti is
//     optional (without it the JWT's own hash is its single-use id);
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
	if c.JTI == "" {
		sum := sha256.Sum256([]byte(compact))
		c.JTI = "sha256:" + hex.EncodeToString(sum[:])
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
	if c.JTI, err = cs.str("jti", false); err != nil {
		return nil, err
	}
	if _, ok := cs["jti"]; ok && !validJTI(c.JTI) {
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
	if p.Description, err = cs.str("description", false); err != nil {
		return p, err
	}
	if p.Metadata, err = metadataClaim(cs); err != nil {
		return p, err
	}
	if v, ok := cs["cidVersion"]; ok {
		switch stringify(v) {
		case "0", "1":
			cv := int(stringify(v)[0] - '0')
			p.CIDVersion = &cv
		default:
			return p, fmt.Errorf("%w: jwt claim \"cidVersion\" must be 0 or 1", ErrMalformed)
		}
	}
	if v, ok := cs["wrapWithDirectory"]; ok {
		b, err := strconv.ParseBool(stringify(v))
		if err != nil {
			return p, fmt.Errorf("%w: jwt claim \"wrapWithDirectory\" must be a boolean", ErrMalformed)
		}
		p.WrapWithDirectory = &b
	}
	for _, k := range ImageKitParams() {
		if v, ok := cs[k]; ok {
			if p.Fields == nil {
				p.Fields = map[string]string{}
			}
			p.Fields[k] = stringify(v)
		}
	}
	return p, nil
}

// metadataClaim reads the metadata claim: an object of strings, or that
// object in stringified form (a JSON string), as ImageKit's payloads send
// their values.
func metadataClaim(cs claimSet) (map[string]string, error) {
	v, ok := cs["metadata"]
	if !ok {
		return nil, nil
	}
	if s, isStr := v.(string); isStr {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return nil, fmt.Errorf("%w: jwt claim \"metadata\" must be an object", ErrMalformed)
		}
		v = m
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: jwt claim \"metadata\" must be an object", ErrMalformed)
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%w: jwt claim metadata.%s must be a string", ErrMalformed, k)
		}
		out[k] = s
	}
	return out, nil
}

// stringify is a claim's value as a form would send it: a string as is, a
// number or boolean as its JSON text, an array of scalars joined by commas
// (as JavaScript's String() does), anything else as its JSON text.
func stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				b, _ := json.Marshal(v)
				return string(b)
			}
			parts[i] = stringify(e)
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// sameField reports whether a form value equals a signed one, as ImageKit
// compares its stringified parameters: equal text, or equal JSON values
// (an object signed as {"a":1} and sent as {"a": 1}).
func sameField(got, signed string) bool {
	if got == signed {
		return true
	}
	var a, b any
	if json.Unmarshal([]byte(got), &a) != nil || json.Unmarshal([]byte(signed), &b) != nil {
		return false
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
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
	if p.Description != "" {
		if s.Description == "" || p.Description != s.Description {
			return Params{}, mismatch("description", p.Description, s.Description, s.Description != "")
		}
	}
	for k, v := range p.Fields {
		signed, ok := s.Fields[k]
		if !ok || !sameField(v, signed) {
			return Params{}, mismatch(k, v, signed, ok)
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
	if p.Group != "" { // a payload has no claim for it
		return Params{}, mismatch("group", p.Group, "", false)
	}
	out.Metadata = maps.Clone(s.Metadata)
	out.Fields = maps.Clone(s.Fields)
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
