package server

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Pinata's v3 API (npm pinata): files, signed upload URLs, pin by CID
// (pinata_queue.go), groups (pinata_groups.go) and keys (pinata_keys.go).
// The SDK's endpointUrl and uploadUrl both default to a …/v3 base; the
// routes answer with and without the /v3 prefix, so either base may point
// at ninja. Answers are wrapped in {data: …}; errors keep ninja's shape,
// which the SDK puts in its error's message as text.
//
// A file is a pin; its id is the pin's request id. Files live on the
// public network only: network "private" is refused with a 400 that says
// so (errPrivate), as is anything that would make a private link.

const (
	// signedURLParam carries a signed upload URL's token (sup_…).
	signedURLParam = "token"
	// pinataDefLimit and pinataMaxLimit bound a v3 page.
	pinataDefLimit = 10
	pinataMaxLimit = 1000
)

// withoutV3Prefix repeats the Pinata v3 routes without their /v3 prefix:
// the SDK's endpointUrl and uploadUrl are bases an app sets, with or
// without /v3, and every path is appended to them.
func withoutV3Prefix(routes []route) []route {
	var out []route
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		if rest, ok := strings.CutPrefix(path, "/v3/"); ok {
			rt.pattern = method + " /" + rest
			out = append(out, rt)
		}
	}
	return out
}

// errPrivate refuses Pinata's private network: ninja has no private files
// (every file is announced and served), and says so rather than storing a
// "private" file publicly.
var errPrivate = fmt.Errorf(`%w: network "private": ninja stores public IPFS files only (no private files, no private download links); use network "public"`, pinning.ErrInvalid)

// pinataNetwork checks the {network} of a v3 path.
func pinataNetwork(r *http.Request) error {
	return checkNetwork(r.PathValue("network"))
}

func checkNetwork(n string) error {
	switch n {
	case "public", "":
		return nil
	case "private":
		return errPrivate
	}
	return errInvalid("network must be public, not %q", n)
}

// pinataFile is a pin as a v3 file; groups are the pin's, in join order
// (group_id is the first).
// pinataFile is pinataFileOf with the Cluster's replicas, if any.
func (s *Server) pinataFile(p store.Pin, groups []string) api.PinataFile {
	f := pinataFileOf(p, groups)
	if rep, ok := s.replicas(p); ok {
		f.Replicas = &rep
	}
	return f
}

func pinataFileOf(p store.Pin, groups []string) api.PinataFile {
	f := api.PinataFile{
		ID: p.ID, Name: p.Name, CID: p.CID, Size: pinSize(p), NumberOfFiles: max(p.Files, 1),
		MimeType: p.MimeType, Keyvalues: p.Metadata, CreatedAt: p.Created.Format(timeFormat),
		Network: "public", Status: p.Status,
	}
	if f.Keyvalues == nil {
		f.Keyvalues = map[string]string{}
	}
	if len(groups) > 0 {
		f.GroupID = &groups[0]
	}
	return f
}

// pinataV3Fields are the form fields of POST /v3/files beyond the common
// ones (name, keyvalues). With a signed URL the form's describing fields
// are ignored, as Pinata documents: what the URL was signed with applies.
func pinataV3Fields(signed bool) func(o *uploadOptions, key, value string, afterFiles bool) (bool, error) {
	return func(o *uploadOptions, key, value string, afterFiles bool) (bool, error) {
		switch key {
		case "network":
			return true, checkNetwork(value)
		case "name", "keyvalues", "group_id":
			if signed {
				return true, nil
			}
			if key == "group_id" {
				o.describe.Group = value
				return true, nil
			}
		case "cid_version":
			v, err := parseCIDVersion(value)
			if err != nil {
				return true, err
			}
			return true, o.setCIDVersion(key, v, afterFiles)
		case "car":
			return true, o.setCAR(key, value, afterFiles)
		case "expires_at":
			return true, errInvalid("expires_at: ninja does not expire files; delete them instead")
		}
		return false, nil
	}
}

// handlePinataUpload is POST /v3/files: a multipart upload (file parts,
// then network, name, group_id, keyvalues, cid_version, car, in any
// order), or with ?token= the upload a signed URL allows.
func (s *Server) handlePinataUpload(w http.ResponseWriter, r *http.Request) error {
	signed := r.URL.Query().Get(signedURLParam) != ""
	if signed {
		// The URL is the credential. The SDK sends "Authorization: Bearer
		// undefined" (or its own key) along with it, which must not win.
		for _, h := range []string{"Authorization", "X-Api-Key", pinataKeyHeader, pinataSecretHeader} {
			r.Header.Del(h)
		}
	}
	if isTusCreation(r) {
		// The SDK's resumable path (files over 90 MiB): a tus creation,
		// answered with a Location under /tus/ (tus.go). Its PATCHes carry
		// only the headers' credential, so a signed URL cannot continue one.
		if signed {
			return errInvalid("a signed upload URL takes the file in one multipart request; a resumable (tus) upload needs a credential in the Authorization header")
		}
		if err := s.authenticate(r, []token.Scope{token.ScopeUpload}, ""); err != nil {
			return err
		}
		if err := s.bindAccount(r); err != nil {
			return err
		}
		return s.handleTus(w, r)
	}
	pins, err := s.streamUpload(w, r, &uploadOptions{dialect: pinataV3Fields(signed)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataData[api.PinataFile]{Data: s.pinataFile(pins[0], pins[0].JoinGroups)})
	return nil
}

// pageToken is a v3 page token: the created time of a page's last pin,
// which is unique, so the next page starts right after it.
func pageToken(p store.Pin) string {
	return base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, uint64(p.Created.UnixNano())))
}

// applyPageToken sets the filter's time bound from a page token.
func applyPageToken(f *store.PinFilter, tok string) error {
	if tok == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 8 {
		return errInvalid("pageToken %q is not a page token this server gave", tok)
	}
	at := time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC()
	if f.Ascending {
		f.After = at
	} else {
		f.Before = at
	}
	return nil
}

// pinataLimit reads a v3 page size.
func pinataLimit(v string) (int, error) {
	if v == "" {
		return pinataDefLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > pinataMaxLimit {
		return 0, errInvalid("limit must be an integer from 1 to %d", pinataMaxLimit)
	}
	return n, nil
}

// parsePinataFileFilter reads GET /v3/files/{network}'s query. The filter
// asks for one pin more than the page, to know whether another page follows.
func parsePinataFileFilter(q url.Values) (store.PinFilter, int, error) {
	f := store.PinFilter{Status: []string{store.StatusPinned}}
	limit, err := pinataLimit(q.Get("limit"))
	if err != nil {
		return f, 0, err
	}
	f.Limit = limit + 1
	if v := q.Get("name"); v != "" {
		f.Name, f.Match = v, "ipartial"
	}
	if v := q.Get("cid"); v != "" {
		c, err := pinning.ParseCID(v)
		if err != nil {
			return f, 0, err
		}
		f.CIDs = []string{c.String()}
	}
	f.MimeType = q.Get("mimeType")
	switch g := q.Get("group"); g {
	case "":
	case "null": // the SDK's noGroup()
		f.NoGroup = true
	default:
		f.Group = g
	}
	if q.Get("cidPending") == "true" { // requests still fetching their DAG
		f.Status = []string{store.StatusQueued, store.StatusPinning}
	}
	for key, vals := range q {
		if k, ok := strings.CutPrefix(key, "keyvalues["); ok && strings.HasSuffix(k, "]") {
			if f.Meta == nil {
				f.Meta = map[string]string{}
			}
			f.Meta[strings.TrimSuffix(k, "]")] = vals[0]
		}
	}
	switch o := strings.ToUpper(q.Get("order")); o {
	case "", "DESC":
	case "ASC":
		f.Ascending = true
	default:
		return f, 0, errInvalid("order must be ASC or DESC")
	}
	return f, limit, applyPageToken(&f, q.Get("pageToken"))
}

// handlePinataList is GET /v3/files/{network}: one page of the account's
// files, newest first (order=ASC oldest first), and the token of the next.
func (s *Server) handlePinataList(w http.ResponseWriter, r *http.Request) error {
	if err := pinataNetwork(r); err != nil {
		return err
	}
	f, limit, err := parsePinataFileFilter(r.URL.Query())
	if err != nil {
		return err
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	page, err := s.svc.ListPinsWithGroups(r.Context(), accountID, f)
	if err != nil {
		return err
	}
	out := api.PinataFileList{Files: []api.PinataFile{}}
	pins := page.Pins
	if len(pins) > limit {
		pins = pins[:limit]
		out.NextPageToken = pageToken(pins[limit-1])
	}
	for _, p := range pins {
		out.Files = append(out.Files, s.pinataFile(p, page.Groups[p.ID]))
	}
	writeJSON(w, http.StatusOK, api.PinataData[api.PinataFileList]{Data: out})
	return nil
}

// handlePinataGet is GET /v3/files/{network}/{id}.
func (s *Server) handlePinataGet(w http.ResponseWriter, r *http.Request) error {
	if err := pinataNetwork(r); err != nil {
		return err
	}
	p, groups, err := s.svc.PinWithGroups(r.Context(), actor(r).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataData[api.PinataFile]{Data: s.pinataFile(p, groups)})
	return nil
}

// keyvaluesEdit turns Pinata's keyvalues update (null removes a key) into
// a metadata edit.
func keyvaluesEdit(kv map[string]*json.RawMessage) (pinning.PinEdit, error) {
	var e pinning.PinEdit
	set := map[string]json.RawMessage{}
	for k, v := range kv {
		if v == nil || string(*v) == "null" {
			e.Remove = append(e.Remove, k)
			continue
		}
		set[k] = *v
	}
	if len(set) > 0 {
		b, _ := json.Marshal(set)
		m, err := parseMetadata(b)
		if err != nil {
			return e, err
		}
		e.Set = m
	}
	return e, nil
}

// handlePinataUpdate is PUT /v3/files/{network}/{id}: a new name, and
// keyvalues merged into the file's (a null value removes the key).
func (s *Server) handlePinataUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := pinataNetwork(r); err != nil {
		return err
	}
	var req api.PinataFileUpdate
	if err := decodeJSON(w, r, maxSmallBody, &req, false); err != nil {
		return err
	}
	if len(req.ExpiresAt) > 0 && string(req.ExpiresAt) != "null" {
		return errInvalid("expires_at: ninja does not expire files; delete them instead")
	}
	e, err := keyvaluesEdit(req.Keyvalues)
	if err != nil {
		return err
	}
	e.Name = req.Name
	accountID := actor(r).AccountID
	if _, err := s.svc.EditPin(r.Context(), accountID, r.PathValue("id"), e); err != nil {
		return err
	}
	// Read back with its groups, which the answer shows.
	p, groups, err := s.svc.PinWithGroups(r.Context(), accountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataData[api.PinataFile]{Data: s.pinataFile(p, groups)})
	return nil
}

// handlePinataDelete is DELETE /v3/files/{network}/{id}: the pin goes (and
// its fetch, if it is a request still fetching); the blocks go at the next
// garbage collection unless another pin holds them.
func (s *Server) handlePinataDelete(w http.ResponseWriter, r *http.Request) error {
	if err := pinataNetwork(r); err != nil {
		return err
	}
	if err := s.svc.DeletePin(r.Context(), actor(r).AccountID, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataData[any]{})
	return nil
}

// signSpec turns POST /v3/files/sign's body into an upload token's spec:
// the URL's lifetime (date + expires), size, types, and the name,
// keyvalues and group every upload gets.
func signSpec(req api.PinataSignRequest, now time.Time) (pinning.TokenSpec, error) {
	if req.URL != "" || req.Method != "" {
		return pinning.TokenSpec{}, errPrivate // signing a gateway link: only for private files
	}
	if err := checkNetwork(req.Network); err != nil {
		return pinning.TokenSpec{}, err
	}
	if req.Expires <= 0 {
		return pinning.TokenSpec{}, errInvalid("expires must be a positive number of seconds")
	}
	date := now
	if req.Date != 0 {
		date = time.Unix(req.Date, 0)
	}
	lifetime := date.Add(time.Duration(req.Expires) * time.Second).Sub(now)
	switch {
	case lifetime <= 0:
		return pinning.TokenSpec{}, errInvalid("date + expires is in the past: the URL would never be valid")
	case lifetime > token.MaxExpiresIn:
		return pinning.TokenSpec{}, errInvalid("a signed URL lives at most %v", token.MaxExpiresIn)
	case req.MaxFileSize < 0:
		return pinning.TokenSpec{}, errInvalid("max_file_size must not be negative")
	}
	// "directory" is Pinata's permission for folder uploads; ninja checks
	// the type of every file in a folder instead.
	var types []string
	for _, t := range req.AllowMimeTypes {
		if t != "directory" {
			types = append(types, t)
		}
	}
	mimes, err := token.ParseMimeTypes(types)
	if err != nil {
		return pinning.TokenSpec{}, err
	}
	kv, err := parseMetadata(req.Keyvalues)
	if err != nil {
		return pinning.TokenSpec{}, err
	}
	return pinning.TokenSpec{Name: "Pinata signed URL", Lifetime: lifetime, Constraints: token.Constraints{
		MaxFileBytes: req.MaxFileSize, AllowedMimeTypes: mimes, Name: req.Filename, Metadata: kv, Group: req.GroupID,
	}}, nil
}

// handlePinataSign is POST /v3/files/sign: a signed upload URL, which is
// this server's POST …/files with an upload token (sup_…) in its query.
// The token carries exactly the URL's constraints, is listed by GET
// /signed-tokens and revoked by DELETE /signed-tokens/{tokenId}.
func (s *Server) handlePinataSign(w http.ResponseWriter, r *http.Request) error {
	var req api.PinataSignRequest
	if err := decodeJSON(w, r, maxSmallBody, &req, false); err != nil {
		return err
	}
	spec, err := signSpec(req, s.svc.Now())
	if err != nil {
		return err
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	parent, err := s.svc.Issuer(r.Context(), principal(r), accountID, "", true)
	if err != nil {
		return err
	}
	secret, _, err := s.svc.CreateUploadToken(r.Context(), parent, spec)
	if err != nil {
		return err
	}
	u := s.baseURL(r) + strings.TrimSuffix(r.URL.Path, "/sign") + "?" + signedURLParam + "=" + url.QueryEscape(secret)
	writeJSON(w, http.StatusOK, api.PinataData[string]{Data: u})
	return nil
}

// baseURL is this server's public address: the configured public URL, or
// the one the client used.
func (s *Server) baseURL(r *http.Request) string {
	return strings.TrimSuffix(s.gatewayURL(r, ""), "/ipfs/")
}

// handlePinataTestAuth is GET /data/testAuthentication (both APIs): the
// credential works.
func (s *Server) handlePinataTestAuth(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, api.Message{Message: "Congratulations! You are communicating with the Pinata API!"})
	return nil
}

// handlePinataUsage is GET /data/userPinnedDataTotal (both APIs): the
// account's pinned pins and stored bytes (each CID once; there are no
// replicas).
func (s *Server) handlePinataUsage(w http.ResponseWriter, r *http.Request) error {
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	u, err := s.svc.Usage(r.Context(), accountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataUsage{PinCount: u.Pinned, PinSizeTotal: u.StoredBytes, PinSizeWithReplicationsTotal: u.StoredBytes})
	return nil
}

// handlePinataPrivate answers what only private files have (download
// links): a clear 400.
func (s *Server) handlePinataPrivate(w http.ResponseWriter, r *http.Request) error {
	return errPrivate
}
