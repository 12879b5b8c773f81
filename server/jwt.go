package server

import (
	"net/http"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Upload-signing keys (an app's backend signs upload JWTs with them) and
// access JWTs (scoped, expiring, revocable bearer tokens for services).

func viewSigningKey(k store.SigningKey) api.SigningKey {
	return api.SigningKey{KID: k.ID, Name: k.Name, KeyID: k.KeyID, CreatedAt: k.Created.UnixMilli(), Revoked: !k.RevokedAt.IsZero()}
}

func (s *Server) handleSigningKeyCreate(w http.ResponseWriter, r *http.Request) error {
	var req api.SigningKeyRequest
	if err := decodeJSON(w, r, 1<<16, &req, true); err != nil {
		return err
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	parent, err := s.svc.Issuer(r.Context(), principal(r), accountID, r.URL.Query().Get("key"), false)
	if err != nil {
		return err
	}
	k, err := s.svc.CreateSigningKey(r.Context(), parent, req.Name)
	if err != nil {
		return err
	}
	v := viewSigningKey(k)
	v.Secret = k.Secret
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) handleSigningKeyList(w http.ResponseWriter, r *http.Request) error {
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	keys, next, err := s.svc.SigningKeys(r.Context(), accountID, page)
	if err != nil {
		return err
	}
	setNext(w, r, next)
	out := make([]api.SigningKey, len(keys))
	for i, k := range keys {
		out[i] = viewSigningKey(k)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleSigningKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.RevokeSigningKey(r.Context(), ownAccount(r), r.PathValue("kid")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Message{Message: "Signing key revoked"})
	return nil
}

func (s *Server) handleAccessJWTCreate(w http.ResponseWriter, r *http.Request) error {
	var req api.AccessJWTRequest
	if err := decodeJSON(w, r, 1<<16, &req, true); err != nil {
		return err
	}
	d, err := token.ParseExpiresIn(req.ExpiresIn)
	if err != nil {
		return err
	}
	if len(req.Scopes) == 0 {
		return errInvalid("scopes are required")
	}
	scopes, err := token.ParseScopes(req.Scopes)
	if err != nil {
		return err
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	parent, err := s.svc.Issuer(r.Context(), principal(r), accountID, r.URL.Query().Get("key"), false)
	if err != nil {
		return err
	}
	jwt, rec, err := s.svc.CreateAccessJWT(r.Context(), parent, pinning.AccessJWTSpec{Name: req.Name, Scopes: scopes, Lifetime: d, MaxUses: req.MaxUses, PublishName: req.PublishName})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, api.AccessJWTCreated{Token: jwt, JTI: rec.JTI, Name: rec.Name, Scopes: rec.Scopes,
		ExpiresAt: rec.ExpiresAt.UnixMilli(), MaxUses: rec.MaxUses, PublishName: rec.PublishName})
	return nil
}

func (s *Server) handleAccessJWTList(w http.ResponseWriter, r *http.Request) error {
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	list, next, err := s.svc.AccessJWTs(r.Context(), accountID, page)
	if err != nil {
		return err
	}
	setNext(w, r, next)
	out := make([]api.AccessJWT, len(list))
	now := s.svc.Now()
	for i, j := range list {
		status := "active"
		switch {
		case !j.RevokedAt.IsZero():
			status = "revoked"
		case !now.Before(j.ExpiresAt):
			status = "expired"
		case j.MaxUses > 0 && j.Uses >= j.MaxUses:
			status = "exhausted"
		}
		out[i] = api.AccessJWT{JTI: j.JTI, AccountID: j.AccountID, KeyID: j.KeyID, Name: j.Name, Scopes: j.Scopes,
			CreatedAt: j.Created.UnixMilli(), ExpiresAt: j.ExpiresAt.UnixMilli(), RevokedAt: millisOrNil(j.RevokedAt),
			MaxUses: j.MaxUses, Uses: j.Uses, Status: status}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleAccessJWTRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.RevokeAccessJWT(r.Context(), ownAccount(r), r.PathValue("jti")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Message{Message: "Token revoked"})
	return nil
}

// handleJWKS publishes the public key access JWTs are signed with, so a
// third party can verify them.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) error {
	b, err := s.svc.JWKS()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
	return nil
}
