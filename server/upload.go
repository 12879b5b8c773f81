package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// maxJSONUpload caps the body of POST /upload/new, whose base64 content is
// held in memory; larger files go through the streaming POST /upload.
const maxJSONUpload = 100 << 20

// jsonUploadSlots bounds the POST /upload/new requests decoded at once, so
// their in-memory bodies (up to maxJSONUpload and its decoded bytes each)
// stay a bounded share of memory; more wait their turn.
const jsonUploadSlots = 4

// uploadResult is the IPFS.NINJA upload response, plus size, name and
// mimeType.
type uploadResult struct {
	CID      string  `json:"cid"`
	SizeMB   float64 `json:"sizeMB"`
	URIs     uris    `json:"uris"`
	Size     int64   `json:"size"`
	Name     string  `json:"name,omitempty"`
	MimeType string  `json:"mimeType,omitempty"`
	Created  string  `json:"created,omitempty"`
}

type uris struct {
	IPFS string `json:"ipfs"`
	URL  string `json:"url"`
}

func (s *Server) result(r *http.Request, p store.Pin) uploadResult {
	return uploadResult{
		CID:      p.CID,
		SizeMB:   math.Round(float64(p.Size)/(1<<20)*1e6) / 1e6,
		URIs:     uris{IPFS: "ipfs://" + p.CID, URL: s.gatewayURL(r, p.CID)},
		Size:     p.Size,
		Name:     p.Name,
		MimeType: p.MimeType,
		Created:  p.Created.Format(timeFormat),
	}
}

// gatewayURL is the public gateway link of a CID: the configured public URL,
// or else the address the client used to reach us.
func (s *Server) gatewayURL(r *http.Request, c string) string {
	base := s.cfg.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/ipfs/" + c
}

// uploadSession is one upload's lifetime: the token use it reserved, the
// node import it writes into, and the limit on its bytes. It ends in commit
// (pins recorded, use counted) or fail (use released, blocks left for GC).
type uploadSession struct {
	s       *Server
	grant   token.Grant
	imp     *node.Import
	tokenID string
	limit   int64 // bytes this upload may still read; -1: none
	read    int64
	ended   bool
	// verify, when set, checks the committed blocks before the pins are
	// recorded (a CAR must hold the whole DAG of every root it names).
	verify func(ctx context.Context, pins []store.Pin) error
}

func (s *Server) beginUpload(g token.Grant, profile node.Profile) (*uploadSession, error) {
	u := &uploadSession{s: s, grant: g, limit: s.cfg.MaxUploadBytes}
	if g.Kind == token.KindUploadToken {
		ok, err := s.store.Reserve(g.CredentialID)
		if err == nil && !ok {
			err = fmt.Errorf("%w: the token has no uploads left", token.ErrExhausted)
		}
		if err != nil {
			s.store.RecordFailure(g.CredentialID, toAPIError(err).Reason)
			return nil, err
		}
		u.tokenID = g.CredentialID
		if g.MaxTotalBytes > 0 {
			left, err := s.store.Remaining(g.CredentialID)
			if err != nil {
				s.store.Release(u.tokenID, "")
				return nil, err
			}
			if left >= 0 && left < u.limit {
				u.limit = left
			}
		}
	}
	u.imp = s.node.NewImport(profile)
	return u, nil
}

// fail ends the upload without recording anything. The token use is
// released and counted as a failure under the error's reason.
func (u *uploadSession) fail(err error) {
	if u.ended {
		return
	}
	u.ended = true
	u.imp.Abort()
	if u.tokenID != "" {
		u.s.store.Release(u.tokenID, toAPIError(err).Reason)
	}
}

// commit makes the blocks durable, then records the pins and the token use
// in one durable transaction. Only after it returns may the client be told.
func (u *uploadSession) commit(ctx context.Context, pins []store.Pin) ([]store.Pin, error) {
	if err := u.imp.Commit(ctx); err != nil {
		u.fail(err)
		return nil, fmt.Errorf("commit blocks: %w", err)
	}
	// A request cancelled (client gone, server shutting down) while its
	// blocks were written is not recorded: its client is not told.
	if err := ctx.Err(); err != nil {
		u.fail(err)
		return nil, err
	}
	if u.verify != nil {
		if err := u.verify(ctx, pins); err != nil {
			u.fail(err)
			return nil, err
		}
	}
	var use *store.TokenUse
	if u.tokenID != "" {
		use = &store.TokenUse{TokenID: u.tokenID, Bytes: u.read}
	}
	g := u.grant
	for i := range pins {
		pins[i].AccountID = g.AccountID
		pins[i].KeyID = g.IssuerKeyID
		pins[i].CredentialID = g.CredentialID
		pins[i].Prefix = g.Prefix
		pins[i].Status = store.StatusPinned
		if c, err := cid.Decode(pins[i].CID); err == nil && pins[i].DagSize == 0 {
			if size, ok := u.imp.RootSize(c); ok {
				pins[i].DagSize = int64(size)
			}
		}
	}
	out, err := u.s.store.AddPins(pins, use)
	if err != nil {
		u.fail(err)
		return nil, err
	}
	u.ended = true
	// The pins are durable: GC may run again (it now sees them as roots).
	u.imp.Release()
	if u.s.pinner != nil {
		for _, p := range out {
			if c, err := cid.Decode(p.CID); err == nil {
				u.s.pinner.Announce(c)
			}
		}
	}
	return out, nil
}

// fileLimit is the most bytes one file of this upload may have.
func (u *uploadSession) fileLimit() int64 {
	limit := u.limit - u.read
	if u.grant.MaxFileBytes > 0 && u.grant.MaxFileBytes < limit {
		limit = u.grant.MaxFileBytes
	}
	return limit
}

// addFile streams one file into the import: it sniffs the first bytes for
// the type check and cuts the stream off at the size limit.
func (u *uploadSession) addFile(ctx context.Context, r io.Reader, name, declared string) (cid.Cid, int64, string, error) {
	br := bufio.NewReaderSize(r, 4096)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return cid.Undef, 0, "", fmt.Errorf("read upload: %w", err)
	}
	sniffed := token.Sniff(head)
	if err := u.grant.CheckFile(token.File{Size: -1, DeclaredType: declared, SniffedType: sniffed, Name: name}); err != nil {
		return cid.Undef, 0, "", err
	}
	lr := &limitReader{r: br, left: u.fileLimit()}
	c, n, err := u.imp.AddFile(ctx, lr)
	u.read += int64(n)
	if err != nil {
		return cid.Undef, 0, "", err
	}
	return c, int64(n), sniffed, nil
}

// limitReader fails with errSizeExceeded as soon as more than left bytes
// arrive, so an oversized upload is cut off while it streams.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errSizeExceeded
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, errSizeExceeded
	}
	return n, err
}

// uploadNewRequest is the body of POST /upload/new.
type uploadNewRequest struct {
	Content     json.RawMessage `json:"content"`
	Description string          `json:"description"`
	Name        string          `json:"name"`
	Metadata    json.RawMessage `json:"metadata"`
}

// handleUploadNew is IPFS.NINJA's JSON upload: content is a JSON object or
// array (stored as its compact JSON text, so formatting does not change the
// CID) or a base64 string holding a file's bytes.
func (s *Server) handleUploadNew(w http.ResponseWriter, r *http.Request) {
	select {
	case s.jsonSlots <- struct{}{}:
		defer func() { <-s.jsonSlots }()
	case <-r.Context().Done():
		s.writeError(w, r, r.Context().Err())
		return
	}
	var req uploadNewRequest
	body := http.MaxBytesReader(w, r.Body, maxJSONUpload)
	dec := json.NewDecoder(body)
	if err := dec.Decode(&req); err != nil {
		s.writeError(w, r, badJSON(err))
		return
	}
	if err := checkLabels(req.Name, req.Description); err != nil {
		s.writeError(w, r, err)
		return
	}
	content, mimeType, err := decodeContent(req.Content)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	meta, err := parseMetadata(req.Metadata)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g := grantOf(r)
	params, err := s.bindParams(r, g, token.Params{Name: req.Name, Metadata: meta}, req.Description)
	if err != nil {
		s.failToken(g, err)
		s.writeError(w, r, err)
		return
	}
	u, err := s.beginUpload(g, profileFor(params.CIDVersion))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, n, sniffed, err := u.addFile(r.Context(), bytes.NewReader(content), params.Name, mimeType)
	if err != nil {
		u.fail(err)
		s.writeError(w, r, err)
		return
	}
	if mimeType == "" {
		mimeType = sniffed
	}
	pins, err := u.commit(r.Context(), []store.Pin{{
		CID: c.String(), Name: params.Name, Description: req.Description,
		Metadata: params.Metadata, MimeType: mimeType, Size: n,
	}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st := state(r)
	st.bytes, st.mimeType, st.cid = n, mimeType, pins[0].CID
	writeJSON(w, http.StatusOK, s.result(r, pins[0]))
}

// failToken counts a refused upload against the token that made it.
func (s *Server) failToken(g token.Grant, err error) {
	if g.Kind == token.KindUploadToken {
		s.store.RecordFailure(g.CredentialID, toAPIError(err).Reason)
	}
}

func badJSON(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return apiErr(http.StatusBadRequest, "BAD_REQUEST", "malformed JSON body: %v", err)
}

// decodeContent turns the content field into file bytes and, for JSON
// content, its type.
func decodeContent(raw json.RawMessage) ([]byte, string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, "", apiErr(http.StatusBadRequest, "INVALID_CONTENT", "content is required")
	}
	switch raw[0] {
	case '{', '[':
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, "", apiErr(http.StatusBadRequest, "INVALID_CONTENT", "content is not valid JSON")
		}
		return buf.Bytes(), "application/json", nil
	case '"':
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return nil, "", apiErr(http.StatusBadRequest, "INVALID_CONTENT", "content is not a valid string")
		}
		b, err := decodeBase64(str)
		if err != nil {
			return nil, "", apiErr(http.StatusBadRequest, "INVALID_CONTENT", "content is not valid base64: %v", err)
		}
		return b, "", nil
	}
	return nil, "", apiErr(http.StatusBadRequest, "INVALID_CONTENT", "content must be a JSON object, an array or a base64 string")
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

// Metadata limits: enough for labels and app ids, small enough that a pin
// record stays a few KiB. A name is at most what the Pinning Service API
// allows.
const (
	maxMetaKeys     = 64
	maxMetaKeyLen   = 128
	maxMetaValueLen = 2048
	maxNameLen      = psaMaxName
	maxDescLen      = 4096
)

// checkLabels refuses a name or description over its limit.
func checkLabels(name, description string) error {
	if len(name) > maxNameLen {
		return badRequest("name is longer than %d bytes", maxNameLen)
	}
	if len(description) > maxDescLen {
		return badRequest("description is longer than %d bytes", maxDescLen)
	}
	return nil
}

// parseMetadata accepts a JSON object whose values are strings, numbers or
// booleans (kept as their JSON text) and enforces the limits above.
func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, badRequest("metadata must be a JSON object")
	}
	if len(m) > maxMetaKeys {
		return nil, badRequest("metadata has %d keys; at most %d are allowed", len(m), maxMetaKeys)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k == "" || len(k) > maxMetaKeyLen {
			return nil, badRequest("metadata key %q must be 1 to %d bytes", k, maxMetaKeyLen)
		}
		var str string
		switch {
		case len(v) > 0 && v[0] == '"':
			if err := json.Unmarshal(v, &str); err != nil {
				return nil, badRequest("metadata value of %q is not a valid string", k)
			}
		case len(v) > 0 && (v[0] == '{' || v[0] == '['):
			return nil, badRequest("metadata value of %q must be a string, number or boolean", k)
		default:
			str = string(v)
		}
		if len(str) > maxMetaValueLen {
			return nil, badRequest("metadata value of %q is longer than %d bytes", k, maxMetaValueLen)
		}
		out[k] = str
	}
	return out, nil
}

// parseBoolParam reads an optional boolean option.
func parseBoolParam(name, v string) (*bool, error) {
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, badRequest("%s must be true or false", name)
	}
	return &b, nil
}

// parseCIDVersion reads the cidVersion option: 0 selects unixfs-v0-2015,
// 1 (the default) unixfs-v1-2025.
func parseCIDVersion(v string) (*int, error) {
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || (n != 0 && n != 1) {
		return nil, badRequest("cidVersion must be 0 or 1")
	}
	return &n, nil
}

func profileFor(cidVersion *int) node.Profile {
	if cidVersion != nil && *cidVersion == 0 {
		return node.ProfileV0
	}
	return node.ProfileV1
}

// mediaType is the bare media type of a Content-Type value.
func mediaType(v string) string {
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return ""
	}
	return mt
}
