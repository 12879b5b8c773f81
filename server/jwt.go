package server

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// maxAccessJWTLifetime bounds an access JWT's expiresIn: they are bearer
// credentials for services; a longer-lived one should be an API key.
const maxAccessJWTLifetime = 30 * 24 * time.Hour

// resolveUploadJWT verifies a client-minted upload JWT against its
// upload-signing key and consumes its jti: the first sight uses it, even if
// the upload then fails, and any later one is TOKEN_REPLAYED.
func (s *Server) resolveUploadJWT(compact string) (token.Grant, *token.UploadClaims, error) {
	var issuer store.APIKey
	claims, err := token.VerifyUploadJWT(compact, func(kid string) ([]byte, error) {
		k, key, err := s.store.SigningKey(kid)
		if errors.Is(err, store.ErrNotFound) {
			return nil, token.ErrUnknown
		}
		if err != nil {
			return nil, err
		}
		if !k.RevokedAt.IsZero() || key.Revoked() {
			return nil, token.ErrRevoked
		}
		issuer = key
		return []byte(k.Secret), nil
	}, s.now())
	if err != nil {
		return token.Grant{}, nil, err
	}
	fresh, err := s.store.ConsumeJTI(claims.KeyID, claims.JTI, claims.ExpiresAt)
	if err != nil {
		return token.Grant{}, nil, err
	}
	if !fresh {
		return token.Grant{}, nil, fmt.Errorf("%w: this upload JWT (jti %q) was used before", token.ErrReplayed, claims.JTI)
	}
	parent, err := keyGrant(issuer)
	if err != nil {
		return token.Grant{}, nil, err
	}
	g, err := claims.Grant(parent)
	if err != nil {
		return token.Grant{}, nil, err
	}
	return g, claims, nil
}

// resolveAccessJWT verifies a server-issued access JWT and checks its
// record: revoked (or its key revoked) is TOKEN_REVOKED. Its maxUses is
// counted by authenticate, after the scope check.
func (s *Server) resolveAccessJWT(compact string) (token.Grant, error) {
	if s.signer == nil {
		return token.Grant{}, apiErr(http.StatusUnauthorized, "UNAUTHORIZED", "access JWTs are not enabled")
	}
	claims, err := s.signer.Verify(compact, s.now())
	if err != nil {
		return token.Grant{}, err
	}
	rec, key, err := s.store.AccessJWT(claims.JTI)
	if errors.Is(err, store.ErrNotFound) {
		return token.Grant{}, apiErr(http.StatusUnauthorized, "UNAUTHORIZED", "unknown access JWT")
	}
	if err != nil {
		return token.Grant{}, err
	}
	if !rec.RevokedAt.IsZero() || key.Revoked() {
		return token.Grant{}, apiErr(http.StatusUnauthorized, "TOKEN_REVOKED", "the access JWT was revoked")
	}
	parent, err := keyGrant(key)
	if err != nil {
		return token.Grant{}, err
	}
	return claims.Grant(parent)
}

// bindParams applies a credential's binding to an upload's parameters: an
// upload JWT's strict one (every request parameter must be signed), then
// the grant's bound name and metadata.
//
// An upload JWT signs no description, so a request that sets one is a
// mismatch too.
func (s *Server) bindParams(r *http.Request, g token.Grant, p token.Params, description string) (token.Params, error) {
	if c := state(r).uploadClaims; c != nil {
		if description != "" {
			return token.Params{}, fmt.Errorf("%w: description: request sets it but an upload JWT cannot sign it", token.ErrParamMismatch)
		}
		var err error
		if p, err = c.CheckRequest(p); err != nil {
			return token.Params{}, err
		}
	}
	out, err := g.Bind(p)
	if err == nil && len(out.Metadata) > maxMetaKeys {
		err = badRequest("metadata has %d keys with the credential's bound ones; at most %d are allowed", len(out.Metadata), maxMetaKeys)
	}
	return out, err
}

// checkJWTFile applies an upload JWT's one-file rule to the n-th file part
// (from 0): the JWT signs one file, so a second part, or a path that would
// build a directory the payload did not sign, is a mismatch.
func checkJWTFile(r *http.Request, n int, name string) error {
	if state(r).uploadClaims == nil {
		return nil
	}
	if n > 0 {
		return fmt.Errorf("%w: an upload JWT authorizes one file", token.ErrParamMismatch)
	}
	if strings.Contains(name, "/") {
		return fmt.Errorf("%w: file name %q: an upload JWT uploads one file, not a directory", token.ErrParamMismatch, name)
	}
	return nil
}

// signingKeyView is an upload-signing key as the API shows it; the secret
// only in the create response.
type signingKeyView struct {
	KID       string `json:"kid"`
	Name      string `json:"name"`
	KeyID     string `json:"keyId"`
	CreatedAt int64  `json:"createdAt"`
	Revoked   bool   `json:"revoked"`
	Secret    string `json:"secret,omitempty"`
}

func viewSigningKey(k store.SigningKey) signingKeyView {
	return signingKeyView{KID: k.ID, Name: k.Name, KeyID: k.KeyID, CreatedAt: k.Created.UnixMilli(), Revoked: !k.RevokedAt.IsZero()}
}

func (s *Server) handleSigningKeyCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	parent, err := s.issuer(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Its JWTs can only upload, so a key that cannot upload gets no
	// signing key whose every JWT would be refused.
	if _, err := parent.Narrow(token.KindUploadJWT, []token.Scope{token.ScopeUpload}, token.Constraints{}); err != nil {
		s.writeError(w, r, err)
		return
	}
	kid, err := token.NewSigningKeyID(rand.Reader)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	secret, err := token.NewSigningSecret(rand.Reader)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	k, err := s.store.CreateSigningKey(store.SigningKey{ID: kid, AccountID: parent.AccountID, KeyID: parent.IssuerKeyID, Name: req.Name, Secret: secret})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := viewSigningKey(k)
	v.Secret = secret
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) handleSigningKeyList(w http.ResponseWriter, r *http.Request) {
	a, err := s.targetAccount(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	keys, err := s.store.SigningKeys(a.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]signingKeyView, len(keys))
	for i, k := range keys {
		out[i] = viewSigningKey(k)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleSigningKeyRevoke(w http.ResponseWriter, r *http.Request) {
	if _, err := s.store.RevokeSigningKey(s.ownAccount(r), r.PathValue("kid")); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Signing key revoked"})
}

// ownAccount is the account a revocation is limited to: the caller's, or
// none (any account) on the admin socket.
func (s *Server) ownAccount(r *http.Request) string {
	if state(r).socket {
		return ""
	}
	return grantOf(r).AccountID
}

// accessJWTRequest is the body of POST /auth/jwt.
type accessJWTRequest struct {
	Name      string          `json:"name"`
	Scopes    []string        `json:"scopes"`
	ExpiresIn json.RawMessage `json:"expiresIn"`
	MaxUses   int64           `json:"maxUses"`
}

func (s *Server) handleAccessJWTCreate(w http.ResponseWriter, r *http.Request) {
	if s.signer == nil {
		s.writeError(w, r, apiErr(http.StatusServiceUnavailable, "UNAVAILABLE", "access JWTs are not enabled"))
		return
	}
	var req accessJWTRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := token.ParseExpiresIn(req.ExpiresIn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if d == 0 {
		d = defaultTokenLifetime
	}
	if d > maxAccessJWTLifetime {
		s.writeError(w, r, badRequest("expiresIn is longer than %v", maxAccessJWTLifetime))
		return
	}
	if req.MaxUses < 0 {
		s.writeError(w, r, badRequest("maxUses must not be negative"))
		return
	}
	if len(req.Scopes) == 0 {
		s.writeError(w, r, badRequest("scopes are required"))
		return
	}
	scopes, err := token.ParseScopes(req.Scopes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	parent, err := s.issuer(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now().Truncate(time.Second)
	if _, err := parent.Narrow(token.KindAccessJWT, scopes, token.Constraints{ExpiresAt: now.Add(d)}); err != nil {
		s.writeError(w, r, err)
		return
	}
	jti, err := token.NewJTI(rand.Reader)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	claims := token.AccessClaims{Subject: parent.AccountID, KeyID: parent.IssuerKeyID, Scopes: scopes,
		IssuedAt: now, ExpiresAt: now.Add(d), JTI: jti, MaxUses: req.MaxUses}
	jwt, err := s.signer.Issue(claims)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.store.CreateAccessJWT(store.AccessJWT{JTI: jti, AccountID: parent.AccountID, KeyID: parent.IssuerKeyID,
		Name: req.Name, Scopes: req.Scopes, ExpiresAt: claims.ExpiresAt, MaxUses: req.MaxUses}); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": jwt, "jti": jti, "name": req.Name, "scopes": req.Scopes,
		"expiresAt": claims.ExpiresAt.UnixMilli(), "maxUses": req.MaxUses})
}

func (s *Server) handleAccessJWTList(w http.ResponseWriter, r *http.Request) {
	a, err := s.targetAccount(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.AccessJWTs(a.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if list == nil {
		list = []store.AccessJWT{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) handleAccessJWTRevoke(w http.ResponseWriter, r *http.Request) {
	if _, err := s.store.RevokeAccessJWT(s.ownAccount(r), r.PathValue("jti")); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Token revoked"})
}

// handleJWKS publishes the public key access JWTs are signed with, so a
// third party can verify them.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if s.signer == nil {
		s.writeError(w, r, apiErr(http.StatusNotFound, "NOT_FOUND", "access JWTs are not enabled"))
		return
	}
	b, err := s.signer.JWKS()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b)
}

// decodeOptionalJSON decodes a small JSON body; an empty body is {}.
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, v any) error {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(v)
	if err != nil && !errors.Is(err, io.EOF) {
		return badJSON(err)
	}
	return nil
}
