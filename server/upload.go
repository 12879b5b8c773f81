package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
)

// maxJSONUpload caps the body of POST /upload/new, whose base64 content is
// held in memory; larger files go through the streaming POST /upload.
const maxJSONUpload = 100 << 20

// jsonUploadSlots bounds the POST /upload/new requests decoded at once, so
// their in-memory bodies (up to maxJSONUpload and its decoded bytes each)
// stay a bounded share of memory; more wait their turn. One account takes
// at most jsonUploadSlotsPerAccount of them, so its slow requests cannot
// block every other account's.
const (
	jsonUploadSlots           = 8
	jsonUploadSlotsPerAccount = 2
)

// timeFormat is how times appear in JSON responses.
const timeFormat = time.RFC3339Nano

func (s *Server) result(r *http.Request, p store.Pin) api.UploadResult {
	return api.UploadResult{
		CID:      p.CID,
		SizeMB:   math.Round(float64(p.Size)/(1<<20)*1e6) / 1e6,
		URIs:     api.URIs{IPFS: "ipfs://" + p.CID, URL: s.gatewayURL(r, p.CID)},
		Size:     p.Size,
		Name:     p.Name,
		MimeType: p.MimeType,
		Created:  p.Created.Format(timeFormat),
	}
}

// gatewayURL is the public gateway link of a CID: the configured public URL,
// or else the address the client used to reach us: https when the request
// came over TLS, or through a trusted proxy (--trusted-proxies) that says
// X-Forwarded-Proto: https because it terminated TLS.
//
// With gateway domains, a CID's link is its subdomain gateway URL instead
// (subdomainURL).
func (s *Server) gatewayURL(r *http.Request, c string) string {
	if len(s.cfg.GatewayDomains) > 0 && c != "" {
		if u := s.subdomainURL(r, c); u != "" {
			return u
		}
	}
	base := s.cfg.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil || s.proxiedHTTPS(r) {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/ipfs/" + c
}

// proxiedHTTPS reports a request a trusted reverse proxy received over
// HTTPS. The header is believed only from a trusted peer: anyone else
// could send it.
func (s *Server) proxiedHTTPS(r *http.Request) bool {
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https") {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && s.trusted(addr.Unmap())
}

// reportUpload tells analytics what an upload stored.
func reportUpload(r *http.Request, pins []store.Pin) {
	st := state(r)
	st.cid, st.mimeType = pins[0].CID, pins[0].MimeType
	for _, p := range pins {
		st.bytes += p.Size
	}
}

// handleUploadNew is IPFS.NINJA's JSON upload: content is a JSON object or
// array (stored as its compact JSON text, so formatting does not change the
// CID) or a base64 string holding a file's bytes.
func (s *Server) handleUploadNew(w http.ResponseWriter, r *http.Request) error {
	release, err := s.jsonSlots.acquire(r.Context(), actor(r).AccountID)
	if err != nil {
		return err
	}
	defer release()
	var req api.UploadNewRequest
	if err := decodeJSON(w, r, maxJSONUpload, &req, false); err != nil {
		return err
	}
	content, mimeType, err := decodeContent(req.Content)
	if err != nil {
		return err
	}
	meta, err := parseMetadata(req.Metadata)
	if err != nil {
		return err
	}
	u, err := s.svc.BeginUpload(r.Context(), actor(r), pinning.ImportOptions{})
	if err != nil {
		return err
	}
	defer u.Abort()
	if _, err := u.AddFile(r.Context(), bytes.NewReader(content), pinning.FileInfo{DeclaredType: mimeType, Type: mimeType}); err != nil {
		return err
	}
	pins, err := u.Finish(r.Context(), pinning.Describe{Name: req.Name, Description: req.Description, Metadata: meta})
	if err != nil {
		return err
	}
	reportUpload(r, pins)
	writeJSON(w, http.StatusOK, s.result(r, pins[0]))
	return nil
}

// decodeContent turns the content field into file bytes and, for JSON
// content, its type.
func decodeContent(raw json.RawMessage) ([]byte, string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, "", fmt.Errorf("%w: content is required", pinning.ErrInvalidContent)
	}
	switch raw[0] {
	case '{', '[':
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, "", fmt.Errorf("%w: content is not valid JSON", pinning.ErrInvalidContent)
		}
		return buf.Bytes(), "application/json", nil
	case '"':
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return nil, "", fmt.Errorf("%w: content is not a valid string", pinning.ErrInvalidContent)
		}
		b, err := decodeBase64(str)
		if err != nil {
			return nil, "", fmt.Errorf("%w: content is not valid base64: %v", pinning.ErrInvalidContent, err)
		}
		return b, "", nil
	}
	return nil, "", fmt.Errorf("%w: content must be a JSON object, an array or a base64 string", pinning.ErrInvalidContent)
}

// decodeBase64 accepts standard or URL-safe base64, padded or not, and a
// data: URL prefix as browsers' FileReader produces.
func decodeBase64(s string) ([]byte, error) {
	if strings.HasPrefix(s, "data:") {
		if i := strings.Index(s, ";base64,"); i >= 0 {
			s = s[i+len(";base64,"):]
		}
	}
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
