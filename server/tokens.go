package server

import (
	"net/http"
	"time"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

func limitsOf(t store.Token) api.TokenLimits {
	return api.TokenLimits{
		MaxUploads:       t.MaxUploads,
		MaxSizeMB:        float64(t.MaxFileBytes) / token.MB,
		MaxTotalMB:       float64(t.MaxTotalBytes) / token.MB,
		AllowedMimeTypes: t.AllowedMimeTypes,
		IPWhitelist:      t.IPAllow,
		AllowedOrigins:   t.AllowedOrigins,
		FileName:         t.BoundName,
		Metadata:         t.BoundMetadata,
		Group:            t.BoundGroup,
		PublishName:      t.PublishName,
	}
}

// tokenSpec validates a token request's wire fields into what the domain
// mints.
func tokenSpec(req api.TokenRequest) (pinning.TokenSpec, error) {
	spec := pinning.TokenSpec{Name: req.Name}
	var err error
	if spec.Lifetime, err = token.ParseExpiresIn(req.ExpiresIn); err != nil {
		return spec, err
	}
	c := &spec.Constraints
	c.MaxUploads = req.MaxUploads
	if req.MaxUploads < 0 {
		return spec, errInvalid("maxUploads must not be negative")
	}
	if c.MaxFileBytes, err = token.ParseMB(req.MaxSizeMB); err != nil {
		return spec, err
	}
	if c.MaxTotalBytes, err = token.ParseMB(req.MaxTotalMB); err != nil {
		return spec, err
	}
	if c.AllowedMimeTypes, err = token.ParseMimeTypes(req.AllowedMimeTypes); err != nil {
		return spec, err
	}
	if c.IPAllow, err = token.ParseCIDRs(req.IPWhitelist); err != nil {
		return spec, err
	}
	if c.AllowedOrigins, err = token.ParseOrigins(req.AllowedOrigins); err != nil {
		return spec, err
	}
	c.Name = req.FileName
	c.PublishName = req.PublishName
	if c.Metadata, err = parseMetadata(req.Metadata); err != nil {
		return spec, err
	}
	return spec, nil
}

// handleTokenCreate serves POST /upload/signed-url and POST /upload-tokens:
// the caller's API key (or access JWT) becomes a short-lived upload token
// that can do no more than it, and dies with it.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) error {
	var req api.TokenRequest
	if err := decodeJSON(w, r, 1<<16, &req, false); err != nil {
		return err
	}
	spec, err := tokenSpec(req)
	if err != nil {
		return err
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	parent, err := s.svc.Issuer(r.Context(), principal(r), accountID, r.URL.Query().Get("key"), true)
	if err != nil {
		return err
	}
	secret, t, err := s.svc.CreateUploadToken(r.Context(), parent, spec)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, api.TokenCreated{
		Token: secret, TokenID: t.ID, TokenPrefix: t.Prefix, TokenName: t.Name,
		ExpiresAt: t.ExpiresAt.UnixMilli(), TokenLimits: limitsOf(t),
	})
	return nil
}

func (s *Server) viewToken(t store.Token, keyRevoked bool) api.Token {
	v := api.Token{
		TokenID: t.ID, TokenPrefix: t.Prefix, TokenName: t.Name, KeyID: t.KeyID,
		ExpiresAt: t.ExpiresAt.UnixMilli(), CreatedAt: t.Created.UnixMilli(),
		UseCount: t.UseCount, BytesUploaded: t.BytesUploaded, Status: s.svc.TokenStatus(t, keyRevoked),
		Failures: t.Failures, TokenLimits: limitsOf(t),
	}
	if v.Failures == nil {
		v.Failures = map[string]int64{}
	}
	for _, n := range v.Failures {
		v.FailureCount += n
	}
	v.LastUsedAt = millisOrNil(t.LastUsedAt)
	v.RevokedAt = millisOrNil(t.RevokedAt)
	return v
}

func millisOrNil(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) error {
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	l, err := s.svc.UploadTokens(r.Context(), accountID, page)
	if err != nil {
		return err
	}
	setNext(w, r, l.Next)
	out := make([]api.Token, len(l.Tokens))
	for i, t := range l.Tokens {
		out[i] = s.viewToken(t, l.KeyRevoked[t.KeyID])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.RevokeUploadToken(r.Context(), ownAccount(r), r.PathValue("tokenId")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Message{Message: "Token revoked"})
	return nil
}

// handleTokenInfo answers GET /upload-tokens/info for the upload token that
// authenticates it: its constraints and how much of it is left. Expired and
// revoked tokens are refused by authentication with their own reasons.
func (s *Server) handleTokenInfo(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if p.Kind != token.KindUploadToken {
		return errInvalid("present an upload token (Authorization: Signed sup_…)")
	}
	t, err := s.svc.UploadToken(r.Context(), p.AccountID, p.CredentialID)
	if err != nil {
		return err
	}
	info := api.TokenInfo{
		TokenID: t.ID, TokenPrefix: t.Prefix, TokenName: t.Name, Status: s.svc.TokenStatus(t, false),
		ExpiresAt: t.ExpiresAt.UnixMilli(), UseCount: t.UseCount, TokenLimits: limitsOf(t),
	}
	if t.MaxUploads > 0 {
		left := max(t.MaxUploads-t.UseCount, 0)
		info.UsesLeft = &left
	}
	// The IP list is the operator's business, not the page's.
	info.IPWhitelist = nil
	writeJSON(w, http.StatusOK, info)
	return nil
}
