package server

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"time"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// defaultTokenLifetime applies when a token request names no expiresIn:
// upload tokens are short-lived by design.
const defaultTokenLifetime = time.Hour

// tokenRequest is the body of POST /upload/signed-url and POST
// /upload-tokens. name is the token's display name; fileName and metadata
// bind the uploads made with it (the client cannot override them).
type tokenRequest struct {
	Name             string          `json:"name"`
	ExpiresIn        json.RawMessage `json:"expiresIn"`
	MaxUploads       int64           `json:"maxUploads"`
	MaxSizeMB        json.RawMessage `json:"maxSizeMB"`
	MaxTotalMB       json.RawMessage `json:"maxTotalMB"`
	AllowedMimeTypes []string        `json:"allowedMimeTypes"`
	IPWhitelist      []string        `json:"ipWhitelist"`
	AllowedOrigins   []string        `json:"allowedOrigins"`
	FileName         string          `json:"fileName"`
	Metadata         json.RawMessage `json:"metadata"`
}

// tokenCreated is the answer to a token request: the only time the token
// itself is shown.
type tokenCreated struct {
	Token       string `json:"token"`
	TokenID     string `json:"tokenId"`
	TokenPrefix string `json:"tokenPrefix"`
	TokenName   string `json:"tokenName"`
	ExpiresAt   int64  `json:"expiresAt"` // unix milliseconds, as IPFS.NINJA returns it
	tokenLimits
}

// tokenLimits are a token's constraints as the API shows them.
type tokenLimits struct {
	MaxUploads       int64             `json:"maxUploads,omitempty"`
	MaxSizeMB        float64           `json:"maxSizeMB,omitempty"`
	MaxTotalMB       float64           `json:"maxTotalMB,omitempty"`
	AllowedMimeTypes []string          `json:"allowedMimeTypes,omitempty"`
	IPWhitelist      []string          `json:"ipWhitelist,omitempty"`
	AllowedOrigins   []string          `json:"allowedOrigins,omitempty"`
	FileName         string            `json:"fileName,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
}

func limitsOf(t store.Token) tokenLimits {
	return tokenLimits{
		MaxUploads:       t.MaxUploads,
		MaxSizeMB:        float64(t.MaxFileBytes) / token.MB,
		MaxTotalMB:       float64(t.MaxTotalBytes) / token.MB,
		AllowedMimeTypes: t.AllowedMimeTypes,
		IPWhitelist:      t.IPAllow,
		AllowedOrigins:   t.AllowedOrigins,
		FileName:         t.BoundName,
		Metadata:         t.BoundMetadata,
	}
}

// constraints validates a token request into the constraints it asks for.
func (req tokenRequest) constraints(now time.Time) (token.Constraints, error) {
	var c token.Constraints
	d, err := token.ParseExpiresIn(req.ExpiresIn)
	if err != nil {
		return c, err
	}
	if d == 0 {
		d = defaultTokenLifetime
	}
	c.ExpiresAt = now.Add(d).Truncate(time.Millisecond)
	if req.MaxUploads < 0 {
		return c, badRequest("maxUploads must not be negative")
	}
	c.MaxUploads = req.MaxUploads
	if c.MaxFileBytes, err = token.ParseMB(req.MaxSizeMB); err != nil {
		return c, err
	}
	if c.MaxTotalBytes, err = token.ParseMB(req.MaxTotalMB); err != nil {
		return c, err
	}
	if c.AllowedMimeTypes, err = token.ParseMimeTypes(req.AllowedMimeTypes); err != nil {
		return c, err
	}
	if c.IPAllow, err = token.ParseCIDRs(req.IPWhitelist); err != nil {
		return c, err
	}
	if c.AllowedOrigins, err = token.ParseOrigins(req.AllowedOrigins); err != nil {
		return c, err
	}
	c.Name = req.FileName
	if c.Metadata, err = parseMetadata(req.Metadata); err != nil {
		return c, err
	}
	return c, nil
}

// handleTokenCreate serves POST /upload/signed-url and POST /upload-tokens:
// the caller's API key becomes a short-lived upload token that can do no
// more than the key, and dies with it.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		s.writeError(w, r, badJSON(err))
		return
	}
	c, err := req.constraints(s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	parent, err := s.issuer(r, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Narrow keeps the token within its issuer (scopes, expiry, limits):
	// what is stored is the narrowed grant, not what was asked for.
	ng, err := parent.Narrow(token.KindUploadToken, []token.Scope{token.ScopeUpload}, c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c = ng.Constraints
	secret, err := token.NewOpaque(token.KindUploadToken, rand.Reader)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sum := s.hasher.Sum(secret)
	ips := make([]string, len(c.IPAllow))
	for i, p := range c.IPAllow {
		ips[i] = p.String()
	}
	name := req.Name
	if name == "" {
		name = "Upload token"
	}
	t, err := s.store.CreateToken(store.Token{
		AccountID: parent.AccountID, KeyID: parent.IssuerKeyID, Name: name,
		Prefix: token.DisplayPrefix(secret), Hash: sum[:], Scopes: []string{string(token.ScopeUpload)},
		ExpiresAt: c.ExpiresAt, MaxUploads: c.MaxUploads, MaxFileBytes: c.MaxFileBytes, MaxTotalBytes: c.MaxTotalBytes,
		AllowedMimeTypes: c.AllowedMimeTypes, IPAllow: ips, AllowedOrigins: c.AllowedOrigins,
		BoundName: c.Name, BoundMetadata: c.Metadata,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, tokenCreated{
		Token: secret, TokenID: t.ID, TokenPrefix: t.Prefix, TokenName: t.Name,
		ExpiresAt: t.ExpiresAt.UnixMilli(), tokenLimits: limitsOf(t),
	})
}

// issuer is the grant a new credential descends from: the caller's, or on
// the admin socket (no key) the account's oldest active key that may issue
// tokens, unless ?key= names one. An access JWT may issue upload tokens
// (allowJWT): Narrow bounds them by its own expiry and scopes. Credentials
// that would outlive their caller (signing keys, access JWTs) need an API
// key: a JWT cannot mint them.
func (s *Server) issuer(r *http.Request, allowJWT bool) (token.Grant, error) {
	g := grantOf(r)
	if !state(r).socket {
		switch {
		case g.Kind == token.KindAPIKey, g.Kind == token.KindAccessJWT && allowJWT:
			return g, nil
		case g.Kind == token.KindAccessJWT:
			return token.Grant{}, apiErr(http.StatusForbidden, "FORBIDDEN", "signing keys and access JWTs can only be created with an API key")
		}
		return token.Grant{}, apiErr(http.StatusForbidden, "FORBIDDEN", "only an API key or an access JWT can issue upload tokens")
	}
	a, err := s.targetAccount(r)
	if err != nil {
		return token.Grant{}, err
	}
	keys, err := s.store.APIKeys(a.ID)
	if err != nil {
		return token.Grant{}, err
	}
	want := r.URL.Query().Get("key")
	for _, k := range keys {
		if k.Revoked() || (want != "" && k.ID != want && k.Prefix != want) {
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
	return token.Grant{}, apiErr(http.StatusConflict, "NO_ISSUER", "account %s has no active API key with scopes upload and tokens:write to issue the token", a.Name)
}

// tokenView is a token as GET /signed-tokens lists it: never the secret.
type tokenView struct {
	TokenID       string           `json:"tokenId"`
	TokenPrefix   string           `json:"tokenPrefix"`
	TokenName     string           `json:"tokenName"`
	KeyID         string           `json:"keyId"`
	ExpiresAt     int64            `json:"expiresAt"`
	CreatedAt     int64            `json:"createdAt"`
	LastUsedAt    *int64           `json:"lastUsedAt"`
	RevokedAt     *int64           `json:"revokedAt,omitempty"`
	UseCount      int64            `json:"useCount"`
	BytesUploaded int64            `json:"bytesUploaded"`
	Status        string           `json:"status"`
	Failures      map[string]int64 `json:"failures"`
	FailureCount  int64            `json:"failureCount"`
	tokenLimits
}

// tokenStatus is active, expired, exhausted or revoked (revocation of the
// token or of its key wins).
func (s *Server) tokenStatus(t store.Token, keyRevoked bool) string {
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

func (s *Server) viewToken(t store.Token, keyRevoked bool) tokenView {
	v := tokenView{
		TokenID: t.ID, TokenPrefix: t.Prefix, TokenName: t.Name, KeyID: t.KeyID,
		ExpiresAt: t.ExpiresAt.UnixMilli(), CreatedAt: t.Created.UnixMilli(),
		UseCount: t.UseCount, BytesUploaded: t.BytesUploaded, Status: s.tokenStatus(t, keyRevoked),
		Failures: t.Failures, tokenLimits: limitsOf(t),
	}
	if v.Failures == nil {
		v.Failures = map[string]int64{}
	}
	for _, n := range v.Failures {
		v.FailureCount += n
	}
	if !t.LastUsedAt.IsZero() {
		ms := t.LastUsedAt.UnixMilli()
		v.LastUsedAt = &ms
	}
	if !t.RevokedAt.IsZero() {
		ms := t.RevokedAt.UnixMilli()
		v.RevokedAt = &ms
	}
	return v
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) {
	a, err := s.targetAccount(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tokens, err := s.store.Tokens(a.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	keys, err := s.store.APIKeys(a.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	revoked := map[string]bool{}
	for _, k := range keys {
		revoked[k.ID] = k.Revoked()
	}
	out := make([]tokenView, len(tokens))
	for i, t := range tokens {
		out[i] = s.viewToken(t, revoked[t.KeyID])
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	accountID := grantOf(r).AccountID
	if state(r).socket {
		accountID = ""
	}
	if _, err := s.store.RevokeToken(accountID, r.PathValue("tokenId")); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Token revoked"})
}

// tokenInfo is what an upload page shows before the first upload.
type tokenInfo struct {
	TokenID     string `json:"tokenId"`
	TokenPrefix string `json:"tokenPrefix"`
	TokenName   string `json:"tokenName"`
	Status      string `json:"status"`
	ExpiresAt   int64  `json:"expiresAt"`
	UseCount    int64  `json:"useCount"`
	UsesLeft    *int64 `json:"usesLeft"` // null: unlimited
	tokenLimits
}

// handleTokenInfo answers GET /upload-tokens/info for the upload token that
// authenticates it: its constraints and how much of it is left. Expired and
// revoked tokens are refused by authentication with their own reasons.
func (s *Server) handleTokenInfo(w http.ResponseWriter, r *http.Request) {
	g := grantOf(r)
	if g.Kind != token.KindUploadToken {
		s.writeError(w, r, badRequest("present an upload token (Authorization: Signed sup_…)"))
		return
	}
	t, err := s.store.Token(g.AccountID, g.CredentialID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info := tokenInfo{
		TokenID: t.ID, TokenPrefix: t.Prefix, TokenName: t.Name, Status: s.tokenStatus(t, false),
		ExpiresAt: t.ExpiresAt.UnixMilli(), UseCount: t.UseCount, tokenLimits: limitsOf(t),
	}
	if t.MaxUploads > 0 {
		left := max(t.MaxUploads-t.UseCount, 0)
		info.UsesLeft = &left
	}
	// The IP list is the operator's business, not the page's.
	info.IPWhitelist = nil
	writeJSON(w, http.StatusOK, info)
}
