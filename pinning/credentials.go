package pinning

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Principal is an authenticated caller: the grant its credential resolved
// to and, for an upload JWT, the claims that bind its upload.
type Principal struct {
	token.Grant
	// Upload holds an upload JWT's verified claims; nil for other kinds.
	Upload *token.UploadClaims
	// Operator marks the admin socket's caller: whoever can open the
	// socket (mode 0600) acts with scope admin on any account.
	Operator bool
	// ClientIP is the address the request came from (for per-address
	// rate limits); the zero Addr when unknown.
	ClientIP netip.Addr

	// parentJTI is the access JWT that minted an upload token, when that
	// JWT counts uses: each request of the token is one of them.
	parentJTI string
}

// Operator is the principal of the admin socket.
func Operator() Principal {
	return Principal{Grant: token.Grant{Kind: token.KindAPIKey, Scopes: []token.Scope{token.ScopeAdmin}}, Operator: true}
}

// AuthRequest is what Authenticate needs to know about a request.
type AuthRequest struct {
	// APIKeyHeader and Authorization are the X-Api-Key and Authorization
	// header values ("" when absent).
	APIKeyHeader, Authorization string
	// BodyToken is a credential sent in the body (the multipart field
	// token), used only when neither header carries one.
	BodyToken string
	// Scopes are the scopes the endpoint accepts; the first the grant
	// holds is the one checked, so an endpoint can take a narrower
	// credential for a narrower answer.
	Scopes []token.Scope
	// ClientIP is the client's address as the server decided it (trusted
	// proxies applied); the zero Addr when unknown.
	ClientIP netip.Addr
	// Origin is the Origin header.
	Origin string
	// PinataAPIKey and PinataSecretAPIKey are Pinata's legacy header pair
	// (pinata_api_key, pinata_secret_api_key), used when neither header
	// above is sent. The secret is a ninja credential (an API key, or the
	// access JWT of a key made through Pinata's key API) and the key must
	// name it: its id (key_…, the JWT's jti) or its display prefix. Both
	// are checked.
	PinataAPIKey, PinataSecretAPIKey string
	// Resumes names the resumable upload the request continues: the
	// upload JWT that created it may be presented again for it (its jti
	// was consumed by the creation).
	Resumes string
}

// Authenticate resolves the request's credential to a Principal and checks
// it: revocation (of it or any ancestor), expiry, scope, client address,
// origin and, for an access JWT with maxUses, one use.
//
// When the credential resolved but the request is refused, the returned
// Principal still names it (AccountID set), so the refusal can be counted
// in its account's analytics; a credential that did not resolve returns
// the zero Principal.
func (s *Service) Authenticate(ctx context.Context, req AuthRequest) (Principal, error) {
	addr := ""
	if req.ClientIP.IsValid() {
		addr = req.ClientIP.String()
	}
	// An address that keeps failing is refused before any lookup, and
	// every failure counts against it.
	if err := s.limits.authFailures.check(addr, s.now()); err != nil {
		return Principal{}, err
	}
	pr, err := s.authenticate(ctx, req)
	pr.ClientIP = req.ClientIP
	kind := pr.Kind.Label()
	if err != nil {
		s.limits.authFailures.take(addr, s.now())
		s.obs.CredentialCheck(kind, "refused")
		return pr, err
	}
	s.obs.CredentialCheck(kind, "ok")
	return pr, nil
}

func (s *Service) authenticate(ctx context.Context, req AuthRequest) (Principal, error) {
	p, err := presented(req)
	if err != nil {
		return Principal{}, err
	}
	pr, err := s.resolve(ctx, p, req.Resumes)
	if err != nil {
		return pr, err
	}
	if key := strings.TrimSpace(req.PinataAPIKey); p.Scheme == schemePinataPair && key != pr.CredentialID && key != pr.Prefix {
		return pr, fmt.Errorf("%w: pinata_api_key does not name the credential in pinata_secret_api_key (send its id or display prefix)", token.ErrUnknown)
	}
	scope := req.Scopes[0]
	for _, sc := range req.Scopes {
		if pr.Allows(sc) {
			scope = sc
			break
		}
	}
	if err := pr.Check(token.Request{Now: s.now(), Scope: scope, ClientIP: req.ClientIP, Origin: req.Origin}); err != nil {
		return pr, err
	}
	// An access JWT's maxUses counts requests it was allowed to make, so
	// the use is taken only once every other check has passed; a request
	// of an upload token it minted is one of them too.
	counted := ""
	switch {
	case pr.Kind == token.KindAccessJWT && pr.MaxUses > 0:
		counted = pr.CredentialID
	case pr.Kind == token.KindUploadToken && pr.parentJTI != "":
		counted = pr.parentJTI
	}
	if counted != "" {
		ok, err := s.store.UseAccessJWT(counted)
		if err != nil {
			return pr, fmt.Errorf("count access jwt use: %w", err)
		}
		if !ok {
			return pr, fmt.Errorf("%w: the access JWT (or the one that minted this token) has no uses left", token.ErrExhausted)
		}
	}
	return pr, nil
}

// schemePinataPair is how a credential sent as Pinata's header pair came.
const schemePinataPair = "pinata_secret_api_key"

// presented finds the request's one credential: the X-Api-Key or
// Authorization header, else Pinata's header pair, else the body's token.
// Two of them at once (a header and the pair) are refused, as two headers
// are.
func presented(req AuthRequest) (token.Presented, error) {
	pair := req.PinataAPIKey != "" || req.PinataSecretAPIKey != ""
	p, err := token.FromHeaders(req.APIKeyHeader, req.Authorization)
	switch {
	case pair && !errors.Is(err, token.ErrMissing):
		return token.Presented{}, fmt.Errorf("%w: send Authorization (or X-Api-Key) or the pinata_api_key and pinata_secret_api_key pair, not both", token.ErrMalformed)
	case pair:
		key, secret := strings.TrimSpace(req.PinataAPIKey), strings.TrimSpace(req.PinataSecretAPIKey)
		if key == "" || secret == "" {
			return token.Presented{}, fmt.Errorf("%w: send both pinata_api_key and pinata_secret_api_key", token.ErrMalformed)
		}
		kind, err := token.Classify(secret)
		if err != nil {
			return token.Presented{}, err
		}
		return token.Presented{Kind: kind, Secret: secret, Scheme: schemePinataPair}, nil
	case errors.Is(err, token.ErrMissing) && req.BodyToken != "":
		return token.FromHeaders("", "Bearer "+req.BodyToken)
	}
	return p, err
}

// resolve looks a presented credential up and turns it into a Principal.
func (s *Service) resolve(ctx context.Context, p token.Presented, resumes string) (Principal, error) {
	switch p.Kind {
	case token.KindAPIKey:
		k, err := s.apiKeyByHash(p.Secret)
		if err != nil {
			return Principal{}, err
		}
		g, err := keyGrant(k)
		return Principal{Grant: g}, err
	case token.KindUploadToken:
		return s.resolveUploadToken(p.Secret)
	case token.KindUploadJWT:
		return s.resolveUploadJWT(p.Secret, resumes)
	case token.KindAccessJWT:
		g, err := s.resolveAccessJWT(p.Secret)
		return Principal{Grant: g}, err
	}
	return Principal{}, fmt.Errorf("%w: unsupported credential", token.ErrMalformed)
}

func (s *Service) apiKeyByHash(secret string) (store.APIKey, error) {
	h := s.hasher.Sum(secret)
	k, err := s.store.APIKeyByHash(h[:])
	if errors.Is(err, store.ErrNotFound) {
		return store.APIKey{}, fmt.Errorf("%w: unknown API key", token.ErrUnknown)
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("look up api key: %w", err)
	}
	// A revoked API key is simply no longer a credential (401
	// UNAUTHORIZED, as the README shows); TOKEN_REVOKED is for the tokens
	// and JWTs a client holds on someone's behalf.
	if k.Revoked() {
		return store.APIKey{}, fmt.Errorf("%w: API key revoked", token.ErrUnknown)
	}
	return k, nil
}

// resolveUploadToken looks up a sup_ token. A revoked token (or one whose
// key was revoked) still names its record in the Principal, so the refusal
// counts against it.
func (s *Service) resolveUploadToken(secret string) (Principal, error) {
	h := s.hasher.Sum(secret)
	t, k, err := s.store.TokenByHash(h[:])
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: unknown upload token", token.ErrUnknown)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up upload token: %w", err)
	}
	named := Principal{Grant: token.Grant{Kind: token.KindUploadToken, AccountID: t.AccountID,
		IssuerKeyID: t.KeyID, CredentialID: t.ID, Prefix: t.Prefix}}
	switch {
	case !t.RevokedAt.IsZero():
		return named, fmt.Errorf("%w: the upload token was revoked", token.ErrRevoked)
	case k.Revoked():
		return named, fmt.Errorf("%w: the API key that issued this token was revoked", token.ErrRevoked)
	}
	// A token minted by an access JWT dies with that JWT (its expiry is
	// within the JWT's already) and shares its uses.
	counted := ""
	if t.ParentJTI != "" {
		jwt, _, err := s.store.AccessJWT(t.ParentJTI)
		switch {
		case errIsNotFound(err):
			return named, fmt.Errorf("%w: the access JWT that minted this token is gone", token.ErrRevoked)
		case err != nil:
			return named, fmt.Errorf("look up the token's access jwt: %w", err)
		case !jwt.RevokedAt.IsZero():
			return named, fmt.Errorf("%w: the access JWT that minted this token was revoked", token.ErrRevoked)
		case jwt.MaxUses > 0:
			counted = jwt.JTI
		}
	}
	parent, err := keyGrant(k)
	if err != nil {
		return named, err
	}
	g, err := tokenGrant(parent, t)
	if err != nil {
		return named, err
	}
	return Principal{Grant: g, parentJTI: counted}, nil
}

// keyGrant is the Grant of an API key: everything its scopes allow.
func keyGrant(k store.APIKey) (token.Grant, error) {
	scopes, err := token.ParseScopes(k.Scopes)
	if err != nil {
		return token.Grant{}, fmt.Errorf("api key %s: %w", k.ID, err)
	}
	return token.Grant{
		Kind:         token.KindAPIKey,
		AccountID:    k.AccountID,
		IssuerKeyID:  k.ID,
		CredentialID: k.ID,
		Prefix:       k.Prefix,
		Scopes:       scopes,
	}, nil
}

// tokenGrant narrows the issuing key's grant to a stored upload token.
func tokenGrant(parent token.Grant, t store.Token) (token.Grant, error) {
	ips, err := token.ParseCIDRs(t.IPAllow)
	if err != nil {
		return token.Grant{}, fmt.Errorf("upload token %s: %w", t.ID, err)
	}
	scopes, err := token.ParseScopes(t.Scopes)
	if err != nil {
		return token.Grant{}, fmt.Errorf("upload token %s: %w", t.ID, err)
	}
	g, err := parent.Narrow(token.KindUploadToken, scopes, token.Constraints{
		ExpiresAt:        t.ExpiresAt,
		MaxUploads:       t.MaxUploads,
		MaxFileBytes:     t.MaxFileBytes,
		MaxTotalBytes:    t.MaxTotalBytes,
		AllowedMimeTypes: t.AllowedMimeTypes,
		IPAllow:          ips,
		AllowedOrigins:   t.AllowedOrigins,
		Name:             t.BoundName,
		Metadata:         t.BoundMetadata,
		Group:            t.BoundGroup,
		PublishName:      t.PublishName,
	})
	if err != nil {
		return token.Grant{}, err
	}
	g.CredentialID = t.ID
	g.Prefix = t.Prefix
	return g, nil
}

// resolveUploadJWT verifies a client-minted upload JWT against its
// upload-signing key and consumes its jti: the first sight uses it, even if
// the upload then fails, and any later one is token.ErrReplayed, but for
// the requests that continue the resumable upload it created (resumes).
func (s *Service) resolveUploadJWT(compact, resumes string) (Principal, error) {
	var issuer store.APIKey
	claims, err := token.VerifyUploadJWT(compact, func(kid string) ([]byte, error) {
		k, key, err := s.store.SigningKey(kid)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: unknown upload-signing key", token.ErrUnknown)
		}
		if err != nil {
			return nil, err
		}
		if !k.RevokedAt.IsZero() || key.Revoked() {
			return nil, fmt.Errorf("%w: the upload-signing key was revoked", token.ErrRevoked)
		}
		issuer = key
		return []byte(k.Secret), nil
	}, s.now())
	if err != nil {
		return Principal{}, err
	}
	fresh, err := s.store.ConsumeJTI(claims.KeyID, claims.JTI, claims.ExpiresAt)
	if err != nil {
		return Principal{}, fmt.Errorf("consume jti: %w", err)
	}
	if !fresh && !s.createdResumable(resumes, claims.JTI, issuer) {
		return Principal{}, fmt.Errorf("%w: this upload JWT (jti %q) was used before", token.ErrReplayed, claims.JTI)
	}
	parent, err := keyGrant(issuer)
	if err != nil {
		return Principal{}, err
	}
	g, err := claims.Grant(parent)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Grant: g, Upload: claims}, nil
}

// resolveAccessJWT verifies a server-issued access JWT and checks its
// record: revoked (or its key revoked) is token.ErrRevoked.
func (s *Service) resolveAccessJWT(compact string) (token.Grant, error) {
	if s.signer == nil {
		return token.Grant{}, fmt.Errorf("%w: access JWTs are not enabled on this server", token.ErrUnknown)
	}
	claims, err := s.signer.Verify(compact, s.now())
	if err != nil {
		return token.Grant{}, err
	}
	rec, key, err := s.store.AccessJWT(claims.JTI)
	if errors.Is(err, store.ErrNotFound) {
		return token.Grant{}, fmt.Errorf("%w: unknown access JWT", token.ErrUnknown)
	}
	if err != nil {
		return token.Grant{}, fmt.Errorf("look up access jwt: %w", err)
	}
	if !rec.RevokedAt.IsZero() || key.Revoked() {
		return token.Grant{}, fmt.Errorf("%w: the access JWT was revoked", token.ErrRevoked)
	}
	parent, err := keyGrant(key)
	if err != nil {
		return token.Grant{}, err
	}
	return claims.Grant(parent)
}
