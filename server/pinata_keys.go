package server

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Pinata's scoped keys (POST|GET /v3/pinata/keys, PUT /v3/pinata/keys/{key})
// are ninja's access JWTs: scoped, counted (maxUses), revocable, listed
// beside the others (GET /auth/jwt). Pinata's triple maps onto one JWT:
//
//	JWT                the access JWT: Authorization: Bearer in both SDKs
//	pinata_api_key     its jti, the key's id (what PUT …/keys/{key} revokes)
//	pinata_api_secret  the access JWT again: the legacy SDK's pair is
//	                   pinata_api_key=jti, pinata_secret_api_key=JWT
//
// An access JWT lives at most pinning.MaxAccessJWTLifetime (30 days), so a
// key made here expires then; a key that never expires is an API key
// (ninja key create), which works in both SDKs too. Only an API key may
// create keys.

// pinataScopes maps a Pinata key's permissions onto ninja's scopes, which
// are coarser: pinByHash and unpin are both pins:write. admin is every
// scope but ninja's own admin (the operator's).
func pinataScopes(p api.PinataPermissions) ([]token.Scope, error) {
	var out []token.Scope
	add := func(s ...token.Scope) {
		for _, sc := range s {
			if !slices.Contains(out, sc) {
				out = append(out, sc)
			}
		}
	}
	if p.Admin {
		add(pinning.DefaultKeyScopes()...)
	}
	for name, on := range p.Endpoints.Pinning {
		switch {
		case !on:
		case name == "pinFileToIPFS" || name == "pinJSONToIPFS":
			add(token.ScopeUpload)
		case name == "pinByHash" || name == "unpin" || name == "hashMetadata" || name == "hashPinPolicy" || name == "userPinPolicy":
			add(token.ScopePinsWrite)
		case name == "pinJobs":
			add(token.ScopePinsRead)
		default:
			return nil, errInvalid("permissions.endpoints.pinning.%s is not an endpoint ninja knows", name)
		}
	}
	for name, on := range p.Endpoints.Data {
		switch {
		case !on:
		case name == "pinList" || name == "userPinnedDataTotal":
			add(token.ScopePinsRead)
		default:
			return nil, errInvalid("permissions.endpoints.data.%s is not an endpoint ninja knows", name)
		}
	}
	for _, res := range p.Resources {
		switch res {
		case "org:files:read", "org:groups:read":
			add(token.ScopePinsRead)
		case "org:files:write", "org:write": // files:write signs upload URLs too
			add(token.ScopeUpload, token.ScopePinsWrite, token.ScopeTokensWrite)
		case "org:groups:write":
			add(token.ScopePinsWrite)
		case "org:analytics:read":
			add(token.ScopeAnalyticsRead)
		case "org:read":
			add(token.ScopePinsRead, token.ScopeAnalyticsRead)
		case "org:gateways:read", "org:gateways:write", "org:analytics:write":
			// ninja has no gateways or analytics to manage: nothing to grant.
		default:
			return nil, errInvalid("permissions.resources: %q is not a resource ninja knows", res)
		}
	}
	if len(out) == 0 {
		return nil, errInvalid("the key's permissions grant nothing ninja does")
	}
	return out, nil
}

// handlePinataKeyCreate is POST /v3/pinata/keys {keyName, permissions,
// maxUses}.
func (s *Server) handlePinataKeyCreate(w http.ResponseWriter, r *http.Request) error {
	var req api.PinataKeyRequest
	if err := decodeJSON(w, r, maxSmallBody, &req, false); err != nil {
		return err
	}
	if req.KeyName == "" {
		return errInvalid("keyName is required")
	}
	scopes, err := pinataScopes(req.Permissions)
	if err != nil {
		return err
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	parent, err := s.svc.Issuer(r.Context(), principal(r), accountID, "", false)
	if err != nil {
		return err
	}
	jwt, rec, err := s.svc.CreateAccessJWT(r.Context(), parent, pinning.AccessJWTSpec{Name: req.KeyName, Scopes: scopes,
		Lifetime: pinning.MaxAccessJWTLifetime, MaxUses: req.MaxUses})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataKeyCreated{JWT: jwt, PinataAPIKey: rec.JTI, PinataAPISecret: jwt})
	return nil
}

func boolQuery(r *http.Request, name string) (*bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, errInvalid("%s must be true or false", name)
	}
	return &b, nil
}

// handlePinataKeyList is GET /v3/pinata/keys: the account's access JWTs,
// newest first, with Pinata's filters (name, revoked, limitedUse,
// exhausted) and offset paging.
func (s *Server) handlePinataKeyList(w http.ResponseWriter, r *http.Request) error {
	f := pinning.AccessJWTFilter{Name: r.URL.Query().Get("name")}
	var err error
	for name, dst := range map[string]**bool{"revoked": &f.Revoked, "limitedUse": &f.LimitedUse, "exhausted": &f.Exhausted} {
		if *dst, err = boolQuery(r, name); err != nil {
			return err
		}
	}
	if v := r.URL.Query().Get("offset"); v != "" {
		if f.Offset, err = strconv.Atoi(v); err != nil {
			return errInvalid("offset must be an integer")
		}
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	list, err := s.svc.FindAccessJWTs(r.Context(), accountID, f)
	if err != nil {
		return err
	}
	out := api.PinataKeyList{Keys: make([]api.PinataKey, len(list)), Count: len(list)}
	for i, j := range list {
		out.Keys[i] = s.pinataKey(j)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) pinataKey(j store.AccessJWT) api.PinataKey {
	updated := j.Created
	if !j.RevokedAt.IsZero() {
		updated = j.RevokedAt
	}
	return api.PinataKey{ID: j.JTI, Name: j.Name, Key: j.JTI, MaxUses: j.MaxUses, Uses: j.Uses, UserID: j.AccountID,
		Scopes: j.Scopes, Revoked: !j.RevokedAt.IsZero(), Status: s.svc.AccessJWTStatus(j),
		CreatedAt: j.Created.Format(timeFormat), UpdatedAt: updated.Format(timeFormat), ExpiresAt: j.ExpiresAt.Format(timeFormat)}
}

// handlePinataKeyRevoke is PUT /v3/pinata/keys/{key}: the key (the JWT's
// jti) is revoked; its next request is refused.
func (s *Server) handlePinataKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.RevokeAccessJWT(r.Context(), ownAccount(r), r.PathValue("key")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, "Revoked")
	return nil
}
