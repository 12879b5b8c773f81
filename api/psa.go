package api

// The IPFS Pinning Service API v1.0.0 objects (the spec's names).

// PSAPin is the spec's Pin object.
type PSAPin struct {
	CID     string            `json:"cid"`
	Name    string            `json:"name,omitempty"`
	Origins []string          `json:"origins,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
}

// PSAStatus is the spec's PinStatus object.
type PSAStatus struct {
	RequestID string            `json:"requestid"`
	Status    string            `json:"status"`
	Created   string            `json:"created"`
	Pin       PSAPin            `json:"pin"`
	Delegates []string          `json:"delegates"`
	Info      map[string]string `json:"info,omitempty"`
}

// PSAResults is the spec's PinResults object.
type PSAResults struct {
	Count   int         `json:"count"`
	Results []PSAStatus `json:"results"`
}
