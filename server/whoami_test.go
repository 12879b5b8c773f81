package server_test

import (
	"slices"
	"testing"

	"github.com/ninja-ipfs/ninja/token"
)

func TestWhoAmITellsACredentialItsKindAccountScopesAndExpiry(t *testing.T) {
	e := newEnv(t)
	reader := e.mintKey(e.acct.ID, token.ScopePinsRead, token.ScopeAnalyticsRead)
	m := e.get("/auth/whoami", reader).json(t)
	if m["kind"] != "api_key" || m["accountId"] != e.acct.ID || m["accountName"] != e.acct.Name || m["expiresAt"] != nil {
		t.Errorf("an API key: %v", m)
	}
	if got := m["scopes"].([]any); !slices.Equal(got, []any{"pins:read", "analytics:read"}) {
		t.Errorf("scopes %v, want the key's own", got)
	}
	if p, _ := m["prefix"].(string); len(p) < 8 || reader[:len(p)] != p {
		t.Errorf("prefix %q is not the key's display prefix", p)
	}

	// An upload token gets its answer too (so a page can send it to the
	// upload page), with the token's expiry.
	tok := e.postJSON("/upload-tokens", e.key, map[string]any{"expiresIn": "1h"}).json(t)
	m = e.get("/auth/whoami", tok["token"].(string)).json(t)
	if m["kind"] != "upload_token" || int64(m["expiresAt"].(float64)) != int64(tok["expiresAt"].(float64)) {
		t.Errorf("an upload token: %v (minted %v)", m, tok)
	}
	if got := m["scopes"].([]any); !slices.Contains(got, any("upload")) || slices.Contains(got, any("pins:read")) {
		t.Errorf("an upload token's scopes %v", got)
	}

	// A credential that can neither read pins nor upload is refused, as on
	// every route without its scope.
	minter := e.mintKey(e.acct.ID, token.ScopeTokensWrite)
	if r := e.get("/auth/whoami", minter); r.status != 403 || r.reason(t) != "FORBIDDEN" {
		t.Errorf("a tokens:write-only key: %d %s", r.status, r.body)
	}
	if r := e.get("/auth/whoami", ""); r.status != 401 {
		t.Errorf("no credential: %d %s", r.status, r.body)
	}
}

// With gateway domains, whoami names the subdomain gateway, so the
// dashboard can link each file to its own origin; without, it says
// nothing of one.
func TestWhoAmINamesTheSubdomainGatewayWhenThereIsOne(t *testing.T) {
	e := newEnv(t, withGatewayDomains("example.com", "other.example"))
	if m := e.get("/auth/whoami", e.key).json(t); m["subdomainGateway"] != "http://example.com" {
		t.Errorf("with gateway domains: subdomainGateway %v, want http://example.com", m["subdomainGateway"])
	}
	plain := newEnv(t)
	if m := plain.get("/auth/whoami", plain.key).json(t); m["subdomainGateway"] != nil {
		t.Errorf("without gateway domains: subdomainGateway %v, want none", m["subdomainGateway"])
	}
}
