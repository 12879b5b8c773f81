// Package api holds ninja's wire types: the JSON bodies of its HTTP API's
// requests and responses. The server encodes them and the CLI (and tests)
// decode them, so both sides agree on every field by construction.
//
// Times are unix milliseconds where IPFS.NINJA's API uses them (token and
// key records: expiresAt, createdAt, lastUsedAt) and RFC 3339 strings
// elsewhere (pins, accounts), as the seeds and the Pinning Service API show.
package api

import "encoding/json"

// ErrorBody is every error answer: the Pinning Service API's Failure shape.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the reason code and the text written for the client.
type ErrorDetail struct {
	Reason  string `json:"reason"`
	Details string `json:"details,omitempty"`
}

// Message is a plain acknowledgement ({"message":"Token revoked"}).
type Message struct {
	Message string `json:"message"`
}

// Account is an account record.
type Account struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Created string `json:"created"`
}

// AccountRequest is the body of POST /admin/accounts.
type AccountRequest struct {
	Name string `json:"name"`
}

// Key is an API key as listed: never its secret or hash. Key (the secret)
// is set only in the create response.
type Key struct {
	ID        string   `json:"id"`
	AccountID string   `json:"accountId"`
	Name      string   `json:"name"`
	Prefix    string   `json:"prefix"`
	Scopes    []string `json:"scopes"`
	Created   string   `json:"created"`
	Revoked   bool     `json:"revoked"`
	RevokedAt string   `json:"revokedAt,omitempty"`
	Key       string   `json:"key,omitempty"`
}

// KeyRequest is the body of POST /admin/keys. Scopes absent means the
// default scopes (all but admin); an empty list is an error.
type KeyRequest struct {
	Name   string    `json:"name"`
	Scopes *[]string `json:"scopes,omitempty"`
}

// KeyRevoked answers DELETE /admin/keys/{id}.
type KeyRevoked struct {
	Message string `json:"message"`
	Key     Key    `json:"key"`
}

// TokenRequest is the body of POST /upload/signed-url and POST
// /upload-tokens. Name is the token's display name; FileName and Metadata
// bind the uploads made with it. ExpiresIn, MaxSizeMB and MaxTotalMB take
// numbers or strings, as the seeds send them.
type TokenRequest struct {
	Name             string          `json:"name,omitempty"`
	ExpiresIn        json.RawMessage `json:"expiresIn,omitempty"`
	MaxUploads       int64           `json:"maxUploads,omitempty"`
	MaxSizeMB        json.RawMessage `json:"maxSizeMB,omitempty"`
	MaxTotalMB       json.RawMessage `json:"maxTotalMB,omitempty"`
	AllowedMimeTypes []string        `json:"allowedMimeTypes,omitempty"`
	IPWhitelist      []string        `json:"ipWhitelist,omitempty"`
	AllowedOrigins   []string        `json:"allowedOrigins,omitempty"`
	FileName         string          `json:"fileName,omitempty"`
	Metadata         json.RawMessage `json:"metadata,omitempty"`
	// PublishName lets the token publish to this one IPNS name of the
	// account (its label or k51… name): POST /names/{name}.
	PublishName string `json:"publishName,omitempty"`
}

// TokenLimits are a token's constraints as the API shows them.
type TokenLimits struct {
	MaxUploads       int64             `json:"maxUploads,omitempty"`
	MaxSizeMB        float64           `json:"maxSizeMB,omitempty"`
	MaxTotalMB       float64           `json:"maxTotalMB,omitempty"`
	AllowedMimeTypes []string          `json:"allowedMimeTypes,omitempty"`
	IPWhitelist      []string          `json:"ipWhitelist,omitempty"`
	AllowedOrigins   []string          `json:"allowedOrigins,omitempty"`
	FileName         string            `json:"fileName,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	Group            string            `json:"group,omitempty"`       // the group of pins every upload joins
	PublishName      string            `json:"publishName,omitempty"` // the one IPNS name (k51…) it may publish to
}

// TokenCreated answers a token request: the only time the token itself
// is shown.
type TokenCreated struct {
	Token       string `json:"token"`
	TokenID     string `json:"tokenId"`
	TokenPrefix string `json:"tokenPrefix"`
	TokenName   string `json:"tokenName"`
	ExpiresAt   int64  `json:"expiresAt"` // unix milliseconds, as IPFS.NINJA returns it
	TokenLimits
}

// Token is an upload token as GET /signed-tokens lists it: never the
// secret.
type Token struct {
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
	TokenLimits
}

// TokenInfo is what an upload page shows before its first upload.
type TokenInfo struct {
	TokenID     string `json:"tokenId"`
	TokenPrefix string `json:"tokenPrefix"`
	TokenName   string `json:"tokenName"`
	Status      string `json:"status"`
	ExpiresAt   int64  `json:"expiresAt"`
	UseCount    int64  `json:"useCount"`
	UsesLeft    *int64 `json:"usesLeft"` // null: unlimited
	TokenLimits
}

// SigningKeyRequest is the body of POST /upload-signing-keys.
type SigningKeyRequest struct {
	Name string `json:"name"`
}

// SigningKey is an upload-signing key; Secret only in the create response.
type SigningKey struct {
	KID       string `json:"kid"`
	Name      string `json:"name"`
	KeyID     string `json:"keyId"`
	CreatedAt int64  `json:"createdAt"`
	Revoked   bool   `json:"revoked"`
	Secret    string `json:"secret,omitempty"`
}

// AccessJWTRequest is the body of POST /auth/jwt.
type AccessJWTRequest struct {
	Name      string          `json:"name"`
	Scopes    []string        `json:"scopes"`
	ExpiresIn json.RawMessage `json:"expiresIn,omitempty"`
	MaxUses   int64           `json:"maxUses,omitempty"`
	// PublishName lets the JWT publish to this one IPNS name of the
	// account (its label or k51… name), even without scope names.
	PublishName string `json:"publishName,omitempty"`
}

// AccessJWTCreated answers POST /auth/jwt: the only time the JWT is shown.
type AccessJWTCreated struct {
	Token     string   `json:"token"`
	JTI       string   `json:"jti"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	ExpiresAt int64    `json:"expiresAt"`
	MaxUses   int64    `json:"maxUses"`
	// PublishName is the IPNS name (k51…) the JWT may publish to.
	PublishName string `json:"publishName,omitempty"`
}

// AccessJWT is an issued access JWT as listed (the JWT itself is not
// stored). Times are unix milliseconds, as in AccessJWTCreated.
type AccessJWT struct {
	JTI       string   `json:"jti"`
	AccountID string   `json:"accountId"`
	KeyID     string   `json:"keyId"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	CreatedAt int64    `json:"createdAt"`
	ExpiresAt int64    `json:"expiresAt"`
	RevokedAt *int64   `json:"revokedAt,omitempty"`
	MaxUses   int64    `json:"maxUses,omitempty"`
	Uses      int64    `json:"uses"`
	Status    string   `json:"status"`
}

// GCResult answers POST /admin/gc.
type GCResult struct {
	Blocks     int64   `json:"blocksFreed"`
	Bytes      int64   `json:"bytesFreed"`
	Roots      int     `json:"liveRoots"`
	DurationMS float64 `json:"durationMs"`
}

// Status answers GET /admin/status.
type Status struct {
	Version string   `json:"version"`
	PeerID  string   `json:"peerId"`
	Addrs   []string `json:"addrs"`
	Peers   int      `json:"peers"`
	Storage Storage  `json:"storage"`
	Queue   Queue    `json:"queue"`
}

// Storage is what an account has pinned: pinned records, bytes with each
// CID counted once, every record (any status) and pin-by-CID requests
// queued or fetching.
type Storage struct {
	Pins    int64 `json:"pins"`
	Bytes   int64 `json:"bytes"`
	Records int64 `json:"records"`
	Queued  int64 `json:"queued"`
	// PartialBytes is the Upload-Length of the open resumable uploads,
	// counted as stored by the quota.
	PartialBytes int64 `json:"partialBytes,omitempty"`
}

// Queue is the pin-by-CID queue's state.
type Queue struct {
	Queued  int `json:"queued"`
	Running int `json:"running"`
}

// URIs are an upload's links.
type URIs struct {
	IPFS string `json:"ipfs"`
	URL  string `json:"url"`
}

// UploadResult is IPFS.NINJA's upload response, plus size, name and
// mimeType.
type UploadResult struct {
	CID      string  `json:"cid"`
	SizeMB   float64 `json:"sizeMB"`
	URIs     URIs    `json:"uris"`
	Size     int64   `json:"size"`
	Name     string  `json:"name,omitempty"`
	MimeType string  `json:"mimeType,omitempty"`
	Created  string  `json:"created,omitempty"`
}

// MultiUploadResult answers an upload with several roots (a CAR).
type MultiUploadResult struct {
	CID   string         `json:"cid"`
	Roots []UploadResult `json:"roots"`
}

// UploadNewRequest is the body of POST /upload/new: content is a JSON
// object or array (stored as its compact JSON text) or a base64 string.
type UploadNewRequest struct {
	Content     json.RawMessage `json:"content"`
	Description string          `json:"description"`
	Name        string          `json:"name"`
	Metadata    json.RawMessage `json:"metadata"`
}

// PinStatus answers GET /pins/{cid} and GET /pin/{cid}.
type PinStatus struct {
	CID         string            `json:"cid"`
	Pinned      bool              `json:"pinned"`
	Status      string            `json:"status"`
	Created     string            `json:"created,omitempty"`
	PinnedSince string            `json:"pinnedSince,omitempty"`
	Name        string            `json:"name,omitempty"`
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Size        int64             `json:"size,omitempty"`
	DagSize     int64             `json:"dagSize,omitempty"`
	RequestID   string            `json:"requestId,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	// Replicas is the CID's copies on the IPFS Cluster behind ninja, as
	// the Cluster last reported them; absent without a Cluster.
	Replicas *Replicas `json:"replicas,omitempty"`
}

// Replicas is a CID's replication on the Cluster: how many peers report
// it pinned (Count), which (Peers, Cluster peer ids), the replication
// factor asked for (Min) and when the Cluster was last asked (Checked).
type Replicas struct {
	Count   int      `json:"count"`
	Min     int      `json:"min"`
	Peers   []string `json:"peers"`
	Checked string   `json:"checked,omitempty"`
}

// PinByCIDRequest is the body of IPFS.NINJA's POST /pin.
type PinByCIDRequest struct {
	CID         string          `json:"cid"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Metadata    json.RawMessage `json:"metadata"`
	Origins     []string        `json:"origins"`
}

// Unpinned answers DELETE /pins/{cid}.
type Unpinned struct {
	Message string `json:"message"`
	Removed int    `json:"removed"`
}

// UploadItem is one entry of GET /upload/list.
type UploadItem struct {
	UploadResult
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Status      string            `json:"status"`
	ID          string            `json:"id"`
	DagSize     int64             `json:"dagSize,omitempty"`
	Prefix      string            `json:"API_KEY_PREFIX,omitempty"`
}

// UploadList answers GET /upload/list.
type UploadList struct {
	Count   int          `json:"count"`
	Uploads []UploadItem `json:"uploads"`
}

// Analytics answers GET /analytics.
type Analytics struct {
	From          string      `json:"from"`
	To            string      `json:"to"`
	APIKey        string      `json:"apiKey,omitempty"`
	Totals        Totals      `json:"totals"`
	Daily         []DayStats  `json:"daily"`
	StorageGrowth []DayAmount `json:"storageGrowth"`
}

// Totals are an analytics report's sums.
type Totals struct {
	Uploads        int64            `json:"uploads"`
	FailedUploads  int64            `json:"failedUploads"`
	BytesUploaded  int64            `json:"bytesUploaded"`
	StorageBytes   int64            `json:"storageBytes"`
	Pins           int64            `json:"pins"`
	GatewayBytes   int64            `json:"gatewayBytes"`
	GatewayReads   int64            `json:"gatewayRequests"`
	Requests       int64            `json:"requests"`
	FileTypes      map[string]int64 `json:"fileTypes"`
	FileTypesBytes map[string]int64 `json:"fileTypesBytes"`
}

// DayStats is one day of an analytics report.
type DayStats struct {
	Date          string `json:"date"`
	Uploads       int64  `json:"uploads"`
	FailedUploads int64  `json:"failedUploads"`
	Bytes         int64  `json:"bytes"`
	GatewayBytes  int64  `json:"gatewayBytes"`
	Requests      int64  `json:"requests"`
}

// DayAmount is a day's stored bytes.
type DayAmount struct {
	Date  string `json:"date"`
	Bytes int64  `json:"bytes"`
}

// Quota is an account's limits as the admin API shows and takes them: 0
// means the server's default (in an override) or no limit (in the
// effective quota), -1 no limit. Byte fields take a number of bytes or a
// size string ("10GiB") when set.
type Quota struct {
	MaxStoredBytes int64 `json:"maxStoredBytes"`
	MaxPins        int64 `json:"maxPins"`
	MaxQueued      int64 `json:"maxQueued"`
	MaxFetchBytes  int64 `json:"maxFetchBytes"`
}

// QuotaRequest is the body of PUT /admin/accounts/{account}/quota: every
// field is optional (absent keeps the override's value); byte fields take
// numbers or size strings, "default" (0) or "unlimited" (-1).
type QuotaRequest struct {
	MaxStoredBytes json.RawMessage `json:"maxStoredBytes,omitempty"`
	MaxPins        json.RawMessage `json:"maxPins,omitempty"`
	MaxQueued      json.RawMessage `json:"maxQueued,omitempty"`
	MaxFetchBytes  json.RawMessage `json:"maxFetchBytes,omitempty"`
}

// AccountQuota answers GET and PUT /admin/accounts/{account}/quota.
type AccountQuota struct {
	Account   Account `json:"account"`
	Effective Quota   `json:"effective"`
	Override  Quota   `json:"override"`
	Usage     Storage `json:"usage"`
}
