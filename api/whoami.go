package api

// WhoAmI answers GET /auth/whoami: what the presented credential is and may
// do, so a client (the dashboard) can show only what its scopes allow.
type WhoAmI struct {
	// Kind is "api_key", "upload_token", "access_jwt" or "upload_jwt"
	// (whose single use this request spends).
	Kind string `json:"kind"`
	// Prefix is the credential's display prefix, as recorded on its
	// analytics events (API_KEY_PREFIX).
	Prefix string `json:"prefix"`
	// Scopes are the credential's scopes as granted ("admin" implies all).
	Scopes      []string `json:"scopes"`
	AccountID   string   `json:"accountId"`
	AccountName string   `json:"accountName"`
	// ExpiresAt is when the credential stops working, in unix
	// milliseconds; null: never.
	ExpiresAt *int64 `json:"expiresAt"`
	// SubdomainGateway is the scheme and host of the subdomain gateway
	// (https://example.com) when the server has --gateway-domains: there
	// {cidv1}.ipfs.{host} serves a CID in its own origin, and
	// {SubdomainGateway}/ipfs/{cid} redirects to it. Empty without.
	SubdomainGateway string `json:"subdomainGateway,omitempty"`
}
