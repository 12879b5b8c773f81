package api

import "encoding/json"

// NameRequest is the body of POST /names: a label for the account's new
// IPNS name and, for a name whose key stays with its owner, that name
// (its owner then PUTs records it signed to /routing/v1/ipns/{name}).
type NameRequest struct {
	Name     string `json:"name"`
	IPNSName string `json:"ipnsName,omitempty"`
}

// PublishRequest is the body of POST /names/{name}. Value is
// /ipfs/{cid}[/path], /ipns/{name}[/path] or a bare CID; Sequence, if
// given, must be greater than the current one; Lifetime (default 48h) and
// TTL (default 5m) take a number of seconds or a duration string ("1h").
type PublishRequest struct {
	Value    string          `json:"value"`
	Sequence *uint64         `json:"sequence,omitempty"`
	Lifetime json.RawMessage `json:"lifetime,omitempty"`
	TTL      json.RawMessage `json:"ttl,omitempty"`
}

// Name is an IPNS name of the account as the API shows it (never its
// key). Times are RFC 3339; Value, Sequence and Validity are those of the
// current record, absent before the first publish.
type Name struct {
	Name      string `json:"name"`     // the account's label
	IPNSName  string `json:"ipnsName"` // k51…, CIDv1 libp2p-key in base36
	Path      string `json:"path"`     // /ipns/k51…
	External  bool   `json:"external,omitempty"`
	CreatedAt string `json:"createdAt"`
	Value     string `json:"value,omitempty"`
	Sequence  uint64 `json:"sequence"`
	Validity  string `json:"validity,omitempty"`
	TTL       int64  `json:"ttl,omitempty"` // seconds
	Published string `json:"publishedAt,omitempty"`
	// URL is where the gateway serves the name (the subdomain form with
	// gateway domains).
	URL string `json:"url,omitempty"`
}
