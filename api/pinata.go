package api

import "encoding/json"

// Pinata's wire types, as its SDKs read and send them (npm pinata 2.5.6
// for v3, @pinata/sdk 2.1.0 for the legacy API). Field names are Pinata's,
// snake_case in v3 and mixed in the legacy API; times are RFC 3339.

// PinataData wraps every v3 answer: the SDK reads res.data.
type PinataData[T any] struct {
	Data T `json:"data"`
}

// PinataFile is a v3 file: one pin. ID is the pin's request id.
type PinataFile struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	CID           string            `json:"cid"`
	Size          int64             `json:"size"`
	NumberOfFiles int64             `json:"number_of_files"`
	MimeType      string            `json:"mime_type"`
	GroupID       *string           `json:"group_id"`
	Keyvalues     map[string]string `json:"keyvalues"`
	CreatedAt     string            `json:"created_at"`
	Network       string            `json:"network"`
	Vectorized    bool              `json:"vectorized"`
	// Status is ninja's: pinned, or a pin request's queued, pinning or
	// failed.
	Status string `json:"status,omitempty"`
	// Replicas is ninja's too (Pinata's file object has no replication
	// field): the CID's copies on the IPFS Cluster behind ninja, as in GET
	// /pins/{cid}; absent without a Cluster.
	Replicas *Replicas `json:"replicas,omitempty"`
}

// PinataFileList answers GET /v3/files/{network}.
type PinataFileList struct {
	Files         []PinataFile `json:"files"`
	NextPageToken string       `json:"next_page_token"`
}

// PinataFileUpdate is the body of PUT /v3/files/{network}/{id}: a new
// name, and keyvalues merged into the file's (null removes a key).
type PinataFileUpdate struct {
	Name      *string                     `json:"name"`
	Keyvalues map[string]*json.RawMessage `json:"keyvalues"`
	ExpiresAt json.RawMessage             `json:"expires_at"`
}

// PinataSignRequest is the body of POST /v3/files/sign. URL and Method are
// what the SDK sends to sign a private gateway link instead.
type PinataSignRequest struct {
	Date           int64           `json:"date"`
	Expires        int64           `json:"expires"`
	Filename       string          `json:"filename"`
	Keyvalues      json.RawMessage `json:"keyvalues"`
	GroupID        string          `json:"group_id"`
	MaxFileSize    int64           `json:"max_file_size"`
	AllowMimeTypes []string        `json:"allow_mime_types"`
	Network        string          `json:"network"`
	URL            string          `json:"url"`
	Method         string          `json:"method"`
}

// PinataPinByCID is the body of POST /v3/files/public/pin_by_cid.
type PinataPinByCID struct {
	CID       string          `json:"cid"`
	Name      string          `json:"name"`
	Keyvalues json.RawMessage `json:"keyvalues"`
	GroupID   string          `json:"group_id"`
	HostNodes []string        `json:"host_nodes"`
}

// PinataJob is a pin-by-CID request as the v3 queue shows it.
type PinataJob struct {
	ID         string            `json:"id"`
	CID        string            `json:"cid"`
	DateQueued string            `json:"date_queued"`
	Name       string            `json:"name"`
	Status     string            `json:"status"`
	Keyvalues  map[string]string `json:"keyvalues"`
	HostNodes  []string          `json:"host_nodes"`
	GroupID    *string           `json:"group_id"`
}

// PinataJobList answers GET /v3/files/public/pin_by_cid.
type PinataJobList struct {
	Jobs          []PinataJob `json:"jobs"`
	NextPageToken string      `json:"next_page_token"`
}

// PinataUsage answers GET /data/userPinnedDataTotal (both APIs).
type PinataUsage struct {
	PinCount                     int64 `json:"pin_count"`
	PinSizeTotal                 int64 `json:"pin_size_total"`
	PinSizeWithReplicationsTotal int64 `json:"pin_size_with_replications_total"`
}

// PinataGroup is a group of files. The SDK's type says createdAt, Pinata's
// API answers created_at; both are sent.
type PinataGroup struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	IsPublic  bool   `json:"is_public"`
	CreatedAt string `json:"created_at"`
	Created   string `json:"createdAt"`
}

// PinataGroupList answers GET /v3/groups/{network}.
type PinataGroupList struct {
	Groups        []PinataGroup `json:"groups"`
	NextPageToken string        `json:"next_page_token"`
}

// PinataGroupRequest is the body of POST and PUT /v3/groups/{network}[/{id}].
type PinataGroupRequest struct {
	Name     *string `json:"name"`
	IsPublic *bool   `json:"is_public"`
}

// PinataKeyRequest is the body of POST /v3/pinata/keys.
type PinataKeyRequest struct {
	KeyName     string            `json:"keyName"`
	Permissions PinataPermissions `json:"permissions"`
	MaxUses     int64             `json:"maxUses"`
}

// PinataPermissions are a Pinata key's permissions: admin, legacy
// endpoints by name, v3 resources ("org:files:read", …).
type PinataPermissions struct {
	Admin     bool `json:"admin"`
	Endpoints struct {
		Data    map[string]bool `json:"data"`
		Pinning map[string]bool `json:"pinning"`
	} `json:"endpoints"`
	Resources []string `json:"resources"`
}

// PinataKeyCreated answers POST /v3/pinata/keys (not wrapped in data).
type PinataKeyCreated struct {
	JWT             string `json:"JWT"`
	PinataAPIKey    string `json:"pinata_api_key"`
	PinataAPISecret string `json:"pinata_api_secret"`
}

// PinataKey is a key as GET /v3/pinata/keys lists it; the secret is never
// shown again.
type PinataKey struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Key       string   `json:"key"`
	Secret    string   `json:"secret"`
	MaxUses   int64    `json:"max_uses"`
	Uses      int64    `json:"uses"`
	UserID    string   `json:"user_id"`
	Scopes    []string `json:"scopes"`
	Revoked   bool     `json:"revoked"`
	Status    string   `json:"status"`
	CreatedAt string   `json:"createdAt"`
	UpdatedAt string   `json:"updatedAt"`
	ExpiresAt string   `json:"expiresAt"`
}

// PinataKeyList answers GET /v3/pinata/keys.
type PinataKeyList struct {
	Keys  []PinataKey `json:"keys"`
	Count int         `json:"count"`
}

// The legacy API (api.pinata.cloud/pinning, /data).

// PinataPinResult answers pinFileToIPFS and pinJSONToIPFS: IpfsHash,
// PinSize, Timestamp, and the fields the v3 SDK's fileArray reads from it.
type PinataPinResult struct {
	IpfsHash      string            `json:"IpfsHash"`
	PinSize       int64             `json:"PinSize"`
	Timestamp     string            `json:"Timestamp"`
	ID            string            `json:"ID"`
	Name          string            `json:"Name"`
	NumberOfFiles int64             `json:"NumberOfFiles"`
	MimeType      string            `json:"MimeType"`
	GroupID       *string           `json:"GroupId"`
	Keyvalues     map[string]string `json:"Keyvalues"`
}

// PinataMetadata is pinataMetadata: a name and keyvalues.
type PinataMetadata struct {
	Name      *string         `json:"name"`
	Keyvalues json.RawMessage `json:"keyvalues"`
}

// PinataOptions is pinataOptions. cidVersion is a number or a string.
type PinataOptions struct {
	CIDVersion        json.RawMessage `json:"cidVersion"`
	WrapWithDirectory *bool           `json:"wrapWithDirectory"`
	GroupID           string          `json:"groupId"`
	HostNodes         []string        `json:"hostNodes"`
	CustomPinPolicy   json.RawMessage `json:"customPinPolicy"`
}

// PinataJSONRequest is the body of POST /pinning/pinJSONToIPFS when it has
// pinataContent; any other body is the content itself.
type PinataJSONRequest struct {
	Content  json.RawMessage `json:"pinataContent"`
	Metadata *PinataMetadata `json:"pinataMetadata"`
	Options  *PinataOptions  `json:"pinataOptions"`
}

// PinataByHashRequest is the body of POST /pinning/pinByHash.
type PinataByHashRequest struct {
	HashToPin string          `json:"hashToPin"`
	Metadata  *PinataMetadata `json:"pinataMetadata"`
	Options   *PinataOptions  `json:"pinataOptions"`
}

// PinataByHashResult answers POST /pinning/pinByHash.
type PinataByHashResult struct {
	ID       string `json:"id"`
	IpfsHash string `json:"ipfsHash"`
	Status   string `json:"status"`
	Name     string `json:"name"`
}

// PinataHashMetadata is the body of PUT /pinning/hashMetadata: keyvalues
// are merged into the pin's (null removes a key).
type PinataHashMetadata struct {
	IpfsPinHash string                      `json:"ipfsPinHash"`
	Name        *string                     `json:"name"`
	Keyvalues   map[string]*json.RawMessage `json:"keyvalues"`
}

// PinataPinRow is one row of GET /data/pinList.
type PinataPinRow struct {
	ID           string            `json:"id"`
	IpfsPinHash  string            `json:"ipfs_pin_hash"`
	Size         int64             `json:"size"`
	UserID       string            `json:"user_id"`
	DatePinned   string            `json:"date_pinned"`
	DateUnpinned *string           `json:"date_unpinned"`
	Metadata     PinataRowMetadata `json:"metadata"`
	// Regions is Pinata's replication report: with a Cluster, one region
	// "ninja-cluster" whose currentReplicationCount is the peers holding
	// the CID and desiredReplicationCount replication-min; else empty.
	Regions       []any  `json:"regions"`
	MimeType      string `json:"mime_type"`
	NumberOfFiles int64  `json:"number_of_files"`
}

// PinataRegion is a pinList row's region (Pinata's replication report).
type PinataRegion struct {
	RegionID                string `json:"regionId"`
	CurrentReplicationCount int    `json:"currentReplicationCount"`
	DesiredReplicationCount int    `json:"desiredReplicationCount"`
}

// PinataRowMetadata is a pinList row's metadata.
type PinataRowMetadata struct {
	Name      *string           `json:"name"`
	Keyvalues map[string]string `json:"keyvalues"`
}

// PinataPinList answers GET /data/pinList.
type PinataPinList struct {
	Count int            `json:"count"`
	Rows  []PinataPinRow `json:"rows"`
}

// PinataJobRow is one row of GET /pinning/pinJobs.
type PinataJobRow struct {
	ID          string            `json:"id"`
	IpfsPinHash string            `json:"ipfs_pin_hash"`
	DateQueued  string            `json:"date_queued"`
	Name        string            `json:"name"`
	Status      string            `json:"status"`
	Keyvalues   map[string]string `json:"keyvalues"`
	HostNodes   []string          `json:"host_nodes"`
}

// PinataJobRows answers GET /pinning/pinJobs.
type PinataJobRows struct {
	Count int            `json:"count"`
	Rows  []PinataJobRow `json:"rows"`
}
