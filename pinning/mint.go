package pinning

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Lifetimes of minted credentials.
const (
	// DefaultTokenLifetime applies when a token request names no
	// expiresIn: upload tokens and access JWTs are short-lived by design.
	DefaultTokenLifetime = time.Hour
	// MaxAccessJWTLifetime bounds an access JWT: they are bearer
	// credentials for services; a longer-lived one should be an API key.
	MaxAccessJWTLifetime = 30 * 24 * time.Hour
)

// DefaultKeyScopes are the scopes of an API key created without a scope
// list: everything but admin.
func DefaultKeyScopes() []token.Scope {
	return []token.Scope{token.ScopeUpload, token.ScopePinsRead, token.ScopePinsWrite, token.ScopeTokensWrite, token.ScopeAnalyticsRead}
}

// CreateAPIKey mints an API key for an account and returns its secret,
// which exists nowhere else afterwards: only its keyed hash is stored.
func (s *Service) CreateAPIKey(ctx context.Context, accountID, name string, scopes []token.Scope) (string, store.APIKey, error) {
	if len(scopes) == 0 {
		return "", store.APIKey{}, fmt.Errorf("%w: a key needs at least one scope", ErrInvalid)
	}
	if name == "" {
		return "", store.APIKey{}, fmt.Errorf("%w: name is required", ErrInvalid)
	}
	if err := checkLabel("name", name, MaxNameLen); err != nil {
		return "", store.APIKey{}, err
	}
	secret, err := token.NewOpaque(token.KindAPIKey, rand.Reader)
	if err != nil {
		return "", store.APIKey{}, fmt.Errorf("mint api key: %w", err)
	}
	sum := s.hasher.Sum(secret)
	k, err := s.store.CreateAPIKey(store.APIKey{
		AccountID: accountID,
		Name:      name,
		Prefix:    token.DisplayPrefix(secret),
		Scopes:    scopeNames(scopes),
		Hash:      sum[:],
	})
	if err != nil {
		return "", store.APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return secret, k, nil
}

func scopeNames(scopes []token.Scope) []string {
	out := make([]string, len(scopes))
	for i, sc := range scopes {
		out[i] = string(sc)
	}
	return out
}

// APIKeys lists a page of an account's API keys, newest first, and the
// next page's cursor.
func (s *Service) APIKeys(ctx context.Context, accountID string, page store.Page) ([]store.APIKey, string, error) {
	return s.store.ListAPIKeys(accountID, page)
}

// RevokeAPIKey revokes a key of any account (the operator's call): every
// credential it issued dies with it.
func (s *Service) RevokeAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	return s.store.RevokeAPIKey("", id)
}

// Issuer is the grant a new credential descends from: the caller's own, or
// for the operator (who has no key) the account's oldest active key that
// may upload and issue tokens, or the one keyRef (id or display prefix)
// names. An access JWT may issue upload tokens (allowJWT): Narrow bounds
// them by its own expiry and scopes. Credentials that would outlive their
// caller (signing keys, access JWTs) need an API key.
//
// accountID is the account the credential is for (already checked by
// Account: only the operator or an admin credential may name another
// account, and then an issuer key of that account is found as for the
// operator).
func (s *Service) Issuer(ctx context.Context, p Principal, accountID, keyRef string, allowJWT bool) (token.Grant, error) {
	if !p.Operator && (accountID == "" || accountID == p.AccountID) {
		switch {
		case p.Kind == token.KindAPIKey, p.Kind == token.KindAccessJWT && allowJWT:
			return p.Grant, nil
		case p.Kind == token.KindAccessJWT:
			return token.Grant{}, fmt.Errorf("%w: signing keys and access JWTs can only be created with an API key", token.ErrForbidden)
		}
		return token.Grant{}, fmt.Errorf("%w: only an API key or an access JWT can issue upload tokens", token.ErrForbidden)
	}
	keys, err := s.store.APIKeys(accountID)
	if err != nil {
		return token.Grant{}, fmt.Errorf("find issuer: %w", err)
	}
	for _, k := range keys {
		if k.Revoked() || (keyRef != "" && k.ID != keyRef && k.Prefix != keyRef) {
			continue
		}
		kg, err := keyGrant(k)
		if err != nil {
			return token.Grant{}, err
		}
		if kg.Allows(token.ScopeTokensWrite) && kg.Allows(token.ScopeUpload) {
			return kg, nil
		}
	}
	return token.Grant{}, fmt.Errorf("%w: the account has no active API key with scopes upload and tokens:write to issue it", ErrNoIssuer)
}

// TokenSpec is what an upload token is asked to be.
type TokenSpec struct {
	// Name is the token's display name ("Upload token" when empty).
	Name string
	// Lifetime is how long it lives; 0 means DefaultTokenLifetime.
	Lifetime time.Duration
	// Constraints are its limits; ExpiresAt is set from Lifetime.
	Constraints token.Constraints
}

// CreateUploadToken mints a signed upload token (sup_…) that can do no
// more than parent and dies with it, and returns its secret (shown once)
// and record. What is stored is the narrowed grant, not what was asked.
func (s *Service) CreateUploadToken(ctx context.Context, parent token.Grant, spec TokenSpec) (string, store.Token, error) {
	if err := s.limits.mintsByKey.allow(parent.IssuerKeyID, s.now()); err != nil {
		return "", store.Token{}, err
	}
	if spec.Lifetime == 0 {
		spec.Lifetime = DefaultTokenLifetime
	}
	c := spec.Constraints
	c.ExpiresAt = s.now().Add(spec.Lifetime).Truncate(time.Millisecond)
	var err error
	if c.PublishName, err = s.publishNameOf(parent.AccountID, c.PublishName); err != nil {
		return "", store.Token{}, err
	}
	if err := checkLabel("name", spec.Name, MaxNameLen); err != nil {
		return "", store.Token{}, err
	}
	if err := checkMetadata(c.Metadata); err != nil {
		return "", store.Token{}, err
	}
	ng, err := parent.Narrow(token.KindUploadToken, []token.Scope{token.ScopeUpload}, c)
	if err != nil {
		return "", store.Token{}, err
	}
	c = ng.Constraints
	if err := s.checkGroup(parent.AccountID, c.Group); err != nil {
		return "", store.Token{}, err
	}
	secret, err := token.NewOpaque(token.KindUploadToken, rand.Reader)
	if err != nil {
		return "", store.Token{}, fmt.Errorf("mint upload token: %w", err)
	}
	sum := s.hasher.Sum(secret)
	ips := make([]string, len(c.IPAllow))
	for i, p := range c.IPAllow {
		ips[i] = p.String()
	}
	name := spec.Name
	if name == "" {
		name = "Upload token"
	}
	parentJTI := ""
	if parent.Kind == token.KindAccessJWT {
		parentJTI = parent.CredentialID // the token dies with the JWT and shares its uses
	}
	t, err := s.store.CreateToken(store.Token{
		AccountID: parent.AccountID, KeyID: parent.IssuerKeyID, Name: name, ParentJTI: parentJTI,
		Prefix: token.DisplayPrefix(secret), Hash: sum[:], Scopes: []string{string(token.ScopeUpload)},
		ExpiresAt: c.ExpiresAt, MaxUploads: c.MaxUploads, MaxFileBytes: c.MaxFileBytes, MaxTotalBytes: c.MaxTotalBytes,
		AllowedMimeTypes: c.AllowedMimeTypes, IPAllow: ips, AllowedOrigins: c.AllowedOrigins,
		BoundName: c.Name, BoundMetadata: c.Metadata, BoundGroup: c.Group, PublishName: c.PublishName,
	})
	if err != nil {
		return "", store.Token{}, fmt.Errorf("create upload token: %w", err)
	}
	return secret, t, nil
}

// TokenStatus is active, expired, exhausted or revoked (a revocation of
// the token or of its key wins).
func (s *Service) TokenStatus(t store.Token, keyRevoked bool) string {
	switch {
	case !t.RevokedAt.IsZero() || keyRevoked:
		return "revoked"
	case !t.ExpiresAt.IsZero() && !s.now().Before(t.ExpiresAt):
		return "expired"
	case (t.MaxUploads > 0 && t.UseCount >= t.MaxUploads) || (t.MaxTotalBytes > 0 && t.BytesUploaded >= t.MaxTotalBytes):
		return "exhausted"
	}
	return "active"
}

// TokenListing is an account's upload tokens with which issuing keys are
// revoked (their tokens are then revoked too).
type TokenListing struct {
	Tokens     []store.Token
	Next       string          // cursor of the next page; "" at the end
	KeyRevoked map[string]bool // by key id
}

// UploadTokens lists a page of an account's upload tokens, newest first,
// and the cursor of the next page ("" at the end).
func (s *Service) UploadTokens(ctx context.Context, accountID string, page store.Page) (TokenListing, error) {
	tokens, next, err := s.store.ListTokens(accountID, page)
	if err != nil {
		return TokenListing{}, fmt.Errorf("list tokens: %w", err)
	}
	out := TokenListing{Tokens: tokens, Next: next, KeyRevoked: map[string]bool{}}
	for _, t := range tokens {
		if _, seen := out.KeyRevoked[t.KeyID]; seen {
			continue
		}
		k, err := s.store.APIKey(t.KeyID)
		if err != nil && !errIsNotFound(err) {
			return TokenListing{}, fmt.Errorf("list tokens: %w", err)
		}
		out.KeyRevoked[t.KeyID] = err != nil || k.Revoked()
	}
	return out, nil
}

// UploadToken returns one of an account's upload tokens.
func (s *Service) UploadToken(ctx context.Context, accountID, id string) (store.Token, error) {
	return s.store.Token(accountID, id)
}

// RevokeUploadToken revokes one of an account's tokens ("" for any
// account: the operator); its next use is refused.
func (s *Service) RevokeUploadToken(ctx context.Context, accountID, id string) error {
	_, err := s.store.RevokeToken(accountID, id)
	return err
}

// CreateSigningKey creates an upload-signing key owned by parent's key and
// returns it with its secret (shown once): an app's backend signs upload
// JWTs (HS256, header kid) with it.
func (s *Service) CreateSigningKey(ctx context.Context, parent token.Grant, name string) (store.SigningKey, error) {
	if err := checkLabel("name", name, MaxNameLen); err != nil {
		return store.SigningKey{}, err
	}
	// Its JWTs can only upload, so a key that cannot upload gets no
	// signing key whose every JWT would be refused.
	if _, err := parent.Narrow(token.KindUploadJWT, []token.Scope{token.ScopeUpload}, token.Constraints{}); err != nil {
		return store.SigningKey{}, err
	}
	kid, err := token.NewSigningKeyID(rand.Reader)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("mint signing key: %w", err)
	}
	secret, err := token.NewSigningSecret(rand.Reader)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("mint signing key: %w", err)
	}
	k, err := s.store.CreateSigningKey(store.SigningKey{ID: kid, AccountID: parent.AccountID, KeyID: parent.IssuerKeyID, Name: name, Secret: secret})
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("create signing key: %w", err)
	}
	return k, nil
}

// SigningKeys lists a page of an account's upload-signing keys, newest
// first, and the next page's cursor.
func (s *Service) SigningKeys(ctx context.Context, accountID string, page store.Page) ([]store.SigningKey, string, error) {
	return s.store.ListSigningKeys(accountID, page)
}

// RevokeSigningKey revokes one of an account's signing keys ("" for any
// account): every JWT under its kid is refused from then on.
func (s *Service) RevokeSigningKey(ctx context.Context, accountID, kid string) error {
	_, err := s.store.RevokeSigningKey(accountID, kid)
	return err
}

// AccessJWTSpec is what an access JWT is asked to be.
type AccessJWTSpec struct {
	Name     string
	Scopes   []token.Scope
	Lifetime time.Duration // 0: DefaultTokenLifetime
	MaxUses  int64
	// PublishName is one of the account's IPNS names (label or k51…)
	// the JWT may publish to; "": none.
	PublishName string
}

// CreateAccessJWT issues a scoped, expiring, revocable access JWT signed
// by the server for parent's key, and returns it with its record.
func (s *Service) CreateAccessJWT(ctx context.Context, parent token.Grant, spec AccessJWTSpec) (string, store.AccessJWT, error) {
	if s.signer == nil {
		return "", store.AccessJWT{}, fmt.Errorf("%w: access JWTs are not enabled", ErrUnavailable)
	}
	if err := s.limits.mintsByKey.allow(parent.IssuerKeyID, s.now()); err != nil {
		return "", store.AccessJWT{}, err
	}
	switch {
	case spec.Lifetime == 0:
		spec.Lifetime = DefaultTokenLifetime
	case spec.Lifetime > MaxAccessJWTLifetime:
		return "", store.AccessJWT{}, fmt.Errorf("%w: expiresIn is longer than %v", ErrInvalid, MaxAccessJWTLifetime)
	}
	if spec.MaxUses < 0 {
		return "", store.AccessJWT{}, fmt.Errorf("%w: maxUses must not be negative", ErrInvalid)
	}
	if len(spec.Scopes) == 0 {
		return "", store.AccessJWT{}, fmt.Errorf("%w: scopes are required", ErrInvalid)
	}
	if err := checkLabel("name", spec.Name, MaxNameLen); err != nil {
		return "", store.AccessJWT{}, err
	}
	now := s.now().Truncate(time.Second)
	publish, err := s.publishNameOf(parent.AccountID, spec.PublishName)
	if err != nil {
		return "", store.AccessJWT{}, err
	}
	if _, err := parent.Narrow(token.KindAccessJWT, spec.Scopes, token.Constraints{ExpiresAt: now.Add(spec.Lifetime), PublishName: publish}); err != nil {
		return "", store.AccessJWT{}, err
	}
	jti, err := token.NewJTI(rand.Reader)
	if err != nil {
		return "", store.AccessJWT{}, fmt.Errorf("mint access jwt: %w", err)
	}
	claims := token.AccessClaims{Subject: parent.AccountID, KeyID: parent.IssuerKeyID, Scopes: spec.Scopes,
		IssuedAt: now, ExpiresAt: now.Add(spec.Lifetime), JTI: jti, MaxUses: spec.MaxUses, PublishName: publish}
	jwt, err := s.signer.Issue(claims)
	if err != nil {
		return "", store.AccessJWT{}, fmt.Errorf("sign access jwt: %w", err)
	}
	rec, err := s.store.CreateAccessJWT(store.AccessJWT{JTI: jti, AccountID: parent.AccountID, KeyID: parent.IssuerKeyID,
		Name: spec.Name, Scopes: scopeNames(spec.Scopes), ExpiresAt: claims.ExpiresAt, MaxUses: spec.MaxUses, PublishName: publish})
	if err != nil {
		return "", store.AccessJWT{}, fmt.Errorf("record access jwt: %w", err)
	}
	return jwt, rec, nil
}

// AccessJWTs lists a page of an account's access JWTs, newest first, and
// the next page's cursor.
func (s *Service) AccessJWTs(ctx context.Context, accountID string, page store.Page) ([]store.AccessJWT, string, error) {
	return s.store.ListAccessJWTs(accountID, page)
}

// AccessJWTStatus is active, revoked, expired or exhausted (maxUses used
// up).
func (s *Service) AccessJWTStatus(j store.AccessJWT) string {
	switch {
	case !j.RevokedAt.IsZero():
		return "revoked"
	case !s.now().Before(j.ExpiresAt):
		return "expired"
	case j.MaxUses > 0 && j.Uses >= j.MaxUses:
		return "exhausted"
	}
	return "active"
}

// AccessJWTFilter selects access JWTs in FindAccessJWTs, as Pinata's key
// list does; nil and zero fields select all.
type AccessJWTFilter struct {
	Name       string // contained in the name, ignoring case
	Revoked    *bool
	LimitedUse *bool // has a maxUses
	Exhausted  *bool // maxUses used up
	Offset     int   // skip that many matches first
	Limit      int   // 0: store.DefaultPageLimit
}

// maxJWTScan bounds the access JWTs one FindAccessJWTs reads: filters and
// offsets are checked on the records, newest first.
const maxJWTScan = 10_000

// FindAccessJWTs lists the account's access JWTs matching f, newest
// first. It reads at most maxJWTScan records; Offset pages within them.
func (s *Service) FindAccessJWTs(ctx context.Context, accountID string, f AccessJWTFilter) ([]store.AccessJWT, error) {
	limit := f.Limit
	if limit <= 0 || limit > store.MaxPageLimit {
		limit = store.DefaultPageLimit
	}
	if f.Offset < 0 || f.Offset >= maxJWTScan {
		return nil, fmt.Errorf("%w: offset must be from 0 to %d", ErrInvalid, maxJWTScan-1)
	}
	is := func(want *bool, got bool) bool { return want == nil || *want == got }
	name := strings.ToLower(f.Name)
	var out []store.AccessJWT
	skip := f.Offset
	page := store.Page{Limit: store.MaxPageLimit}
	for scanned := 0; scanned < maxJWTScan; {
		list, next, err := s.store.ListAccessJWTs(accountID, page)
		if err != nil {
			return nil, fmt.Errorf("find access jwts: %w", err)
		}
		for _, j := range list {
			scanned++
			if !strings.Contains(strings.ToLower(j.Name), name) || !is(f.Revoked, !j.RevokedAt.IsZero()) ||
				!is(f.LimitedUse, j.MaxUses > 0) || !is(f.Exhausted, j.MaxUses > 0 && j.Uses >= j.MaxUses) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if out = append(out, j); len(out) == limit {
				return out, nil
			}
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	return out, nil
}

// RevokeAccessJWT revokes one of an account's access JWTs ("" for any
// account); its next request is refused.
func (s *Service) RevokeAccessJWT(ctx context.Context, accountID, jti string) error {
	_, err := s.store.RevokeAccessJWT(accountID, jti)
	return err
}

// JWKS is the public key set access JWTs are signed with.
func (s *Service) JWKS() ([]byte, error) {
	if s.signer == nil {
		return nil, fmt.Errorf("%w: access JWTs are not enabled", ErrNotFound)
	}
	return s.signer.JWKS()
}
