package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
)

// Pinata's legacy API (api.pinata.cloud/pinning/*, /data/*; npm
// @pinata/sdk). Its requests authenticate with Authorization: Bearer, or
// with Pinata's header pair: pinata_api_key names a ninja credential (an
// API key's id or display prefix, an access JWT's jti) and
// pinata_secret_api_key is that credential; both are checked
// (pinning.AuthRequest). Errors are ninja's {"error":{"reason","details"}},
// which is the shape the legacy SDK reads (error.response.data.error).

// Pinata's header pair; net/http keeps the underscores (a reverse proxy
// may not: nginx needs underscores_in_headers on).
const (
	pinataKeyHeader    = "pinata_api_key"
	pinataSecretHeader = "pinata_secret_api_key"
)

// legacyDefLimit is a legacy page's default size.
const legacyDefLimit = 10

// legacyMetadata reads pinataMetadata ({name, keyvalues}) into d.
func legacyMetadata(m *api.PinataMetadata, d *pinning.Describe) error {
	if m == nil {
		return nil
	}
	if m.Name != nil {
		d.Name = *m.Name
	}
	md, err := parseMetadata(m.Keyvalues)
	if err != nil {
		return fmt.Errorf("pinataMetadata.keyvalues: %w", err)
	}
	if md != nil {
		d.Metadata = md
	}
	return nil
}

// legacyCIDVersion reads pinataOptions.cidVersion: 0 or 1, as a number or
// a string.
func legacyCIDVersion(raw json.RawMessage) (*int, error) {
	v := strings.Trim(string(bytes.TrimSpace(raw)), `"`)
	if v == "null" {
		return nil, nil
	}
	return parseCIDVersion(v)
}

// legacyFields are pinFileToIPFS's form fields: pinataMetadata and
// pinataOptions, JSON each, which @pinata/sdk appends after the file.
// pinataOptions' cidVersion then can only confirm the version the file was
// imported with (1): 0 is refused, naming the field.
func legacyFields(o *uploadOptions, key, value string, afterFiles bool) (bool, error) {
	switch key {
	case "pinataMetadata":
		var m api.PinataMetadata
		if err := json.Unmarshal([]byte(value), &m); err != nil {
			return true, errInvalid("pinataMetadata must be a JSON object with name and keyvalues")
		}
		return true, legacyMetadata(&m, &o.describe)
	case "pinataOptions":
		var opts api.PinataOptions
		if err := json.Unmarshal([]byte(value), &opts); err != nil {
			return true, errInvalid("pinataOptions must be a JSON object")
		}
		v, err := legacyCIDVersion(opts.CIDVersion)
		if err != nil {
			return true, err
		}
		if err := o.setCIDVersion("pinataOptions", v, afterFiles); err != nil {
			return true, err
		}
		if opts.WrapWithDirectory != nil {
			o.describe.WrapWithDirectory = opts.WrapWithDirectory
		}
		if opts.GroupID != "" {
			o.describe.Group = opts.GroupID
		}
		return true, nil
	}
	return false, nil
}

func legacyResult(p store.Pin) api.PinataPinResult {
	size := p.DagSize // Pinata's PinSize counts every block of the DAG
	if size == 0 {
		size = p.Size
	}
	out := api.PinataPinResult{IpfsHash: p.CID, PinSize: size, Timestamp: p.Created.Format(timeFormat), ID: p.ID,
		Name: p.Name, NumberOfFiles: max(p.Files, 1), MimeType: p.MimeType, Keyvalues: p.Metadata}
	if out.Keyvalues == nil {
		out.Keyvalues = map[string]string{}
	}
	if len(p.JoinGroups) > 0 {
		out.GroupID = &p.JoinGroups[0]
	}
	return out
}

// handleLegacyPinFile is POST /pinning/pinFileToIPFS: files, then
// pinataMetadata and pinataOptions (before or after the files).
func (s *Server) handleLegacyPinFile(w http.ResponseWriter, r *http.Request) error {
	pins, err := s.streamUpload(w, r, &uploadOptions{dialect: legacyFields})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, legacyResult(pins[0]))
	return nil
}

// legacyJSONBody reads pinJSONToIPFS's body: {pinataContent,
// pinataMetadata, pinataOptions}, or (as the SDK sends it without options)
// the content itself.
func legacyJSONBody(w http.ResponseWriter, r *http.Request) (api.PinataJSONRequest, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONUpload))
	if err != nil {
		return api.PinataJSONRequest{}, err
	}
	var req api.PinataJSONRequest
	var probe map[string]json.RawMessage
	if json.Unmarshal(raw, &probe) == nil && probe["pinataContent"] != nil {
		if err := json.Unmarshal(raw, &req); err != nil {
			return req, fmt.Errorf("%w: malformed JSON body: %v", pinning.ErrInvalid, err)
		}
	} else {
		req.Content = raw
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, req.Content); err != nil || buf.Len() == 0 {
		return req, fmt.Errorf("%w: the content is not valid JSON", pinning.ErrInvalidContent)
	}
	req.Content = buf.Bytes()
	return req, nil
}

// handleLegacyPinJSON is POST /pinning/pinJSONToIPFS: the content's
// compact JSON text is the file (application/json).
func (s *Server) handleLegacyPinJSON(w http.ResponseWriter, r *http.Request) error {
	release, err := s.jsonSlots.acquire(r.Context(), actor(r).AccountID)
	if err != nil {
		return err
	}
	defer release()
	req, err := legacyJSONBody(w, r)
	if err != nil {
		return err
	}
	var d pinning.Describe
	if err := legacyMetadata(req.Metadata, &d); err != nil {
		return err
	}
	var imp pinning.ImportOptions
	if o := req.Options; o != nil {
		if imp.CIDVersion, err = legacyCIDVersion(o.CIDVersion); err != nil {
			return err
		}
		d.WrapWithDirectory, d.Group = o.WrapWithDirectory, o.GroupID
	}
	u, err := s.svc.BeginUpload(r.Context(), actor(r), imp)
	if err != nil {
		return err
	}
	defer u.Abort()
	if _, err := u.AddFile(r.Context(), bytes.NewReader(req.Content), pinning.FileInfo{DeclaredType: "application/json", Type: "application/json"}); err != nil {
		return err
	}
	pins, err := u.Finish(r.Context(), d)
	if err != nil {
		return err
	}
	reportUpload(r, pins)
	writeJSON(w, http.StatusOK, legacyResult(pins[0]))
	return nil
}

// handleLegacyPinByHash is POST /pinning/pinByHash: a pin-by-CID request,
// fetched from pinataOptions.hostNodes first.
func (s *Server) handleLegacyPinByHash(w http.ResponseWriter, r *http.Request) error {
	var in api.PinataByHashRequest
	if err := decodeJSON(w, r, maxSmallBody, &in, false); err != nil {
		return err
	}
	var d pinning.Describe
	if err := legacyMetadata(in.Metadata, &d); err != nil {
		return err
	}
	req := pinning.PinRequest{CID: in.HashToPin, Name: d.Name, Metadata: d.Metadata}
	if in.Options != nil {
		req.Origins, req.Group = in.Options.HostNodes, in.Options.GroupID
	}
	rec, err := s.svc.PinByCID(r.Context(), actor(r), req)
	if err != nil {
		return err
	}
	state(r).cid = rec.CID
	writeJSON(w, http.StatusOK, api.PinataByHashResult{ID: rec.ID, IpfsHash: rec.CID, Status: jobStatus(rec.Status), Name: rec.Name})
	return nil
}

// writeOK is the legacy API's plain-text acknowledgement.
func writeOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "OK")
}

// handleLegacyUnpin is DELETE /pinning/unpin/{cid}: every pin the account
// holds on the CID goes (and their fetches stop).
func (s *Server) handleLegacyUnpin(w http.ResponseWriter, r *http.Request) error {
	c, err := pinning.ParseCID(r.PathValue("cid"))
	if err != nil {
		return err
	}
	if _, err := s.svc.UnpinCID(r.Context(), actor(r).AccountID, c); err != nil {
		return err
	}
	state(r).cid = c.String()
	writeOK(w)
	return nil
}

// handleLegacyHashMetadata is PUT /pinning/hashMetadata {ipfsPinHash, name,
// keyvalues}: every pin of the CID is renamed and gets the keyvalues
// merged in (null removes a key).
func (s *Server) handleLegacyHashMetadata(w http.ResponseWriter, r *http.Request) error {
	var in api.PinataHashMetadata
	if err := decodeJSON(w, r, maxSmallBody, &in, false); err != nil {
		return err
	}
	c, err := pinning.ParseCID(in.IpfsPinHash)
	if err != nil {
		return err
	}
	e, err := keyvaluesEdit(in.Keyvalues)
	if err != nil {
		return err
	}
	e.Name = in.Name
	if _, err := s.svc.EditPinsOfCID(r.Context(), actor(r).AccountID, c, e); err != nil {
		return err
	}
	writeOK(w)
	return nil
}

// legacyTime reads an ISO 8601 (RFC 3339) query time.
func legacyTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errInvalid("%s must be an ISO 8601 time like 2026-01-02T15:04:05.000Z", name)
	}
	return t, nil
}

// legacyPage reads a legacy page's limit and offset.
func legacyPage(q url.Values, limitName, offsetName string, f *store.PinFilter) error {
	f.Limit = legacyDefLimit
	if v := q.Get(limitName); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > pinataMaxLimit {
			return errInvalid("%s must be an integer from 1 to %d", limitName, pinataMaxLimit)
		}
		f.Limit = n
	}
	if v := q.Get(offsetName); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > store.MaxPinOffset {
			return errInvalid("%s must be an integer from 0 to %d", offsetName, store.MaxPinOffset)
		}
		f.Offset = n
	}
	return nil
}
