package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// maxFieldBytes caps one non-file multipart field (name, metadata, token).
const maxFieldBytes = 64 << 10

// uploadOptions are POST /upload's options, from the query string and from
// the form fields that precede the first file part.
type uploadOptions struct {
	name        string
	description string
	metadata    map[string]string
	cidVersion  *int
	wrap        *bool
	token       string
}

func (o *uploadOptions) set(key, value string) error {
	var err error
	switch key {
	case "name":
		o.name = value
		err = checkLabels(value, "")
	case "description":
		o.description = value
		err = checkLabels("", value)
	case "metadata", "keyvalues":
		o.metadata, err = parseMetadata(json.RawMessage(value))
	case "cidVersion", "cid-version":
		o.cidVersion, err = parseCIDVersion(value)
	case "wrapWithDirectory", "wrap-with-directory":
		o.wrap, err = parseBoolParam(key, value)
	case "token":
		o.token = value
	}
	return err
}

// handleUpload is the streaming upload: a multipart/form-data body read part
// by part straight into the block store, or a CAR body.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	var opts uploadOptions
	for key, vals := range r.URL.Query() {
		if err := opts.set(key, vals[0]); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes+(1<<20))
	var (
		pins []store.Pin
		err  error
	)
	switch mediaType(r.Header.Get("Content-Type")) {
	case "application/vnd.ipld.car":
		pins, err = s.uploadCAR(r, &opts)
	case "multipart/form-data":
		pins, err = s.uploadMultipart(r, &opts)
	default:
		// Authenticate first: a caller without the upload scope learns that,
		// not how to format a body.
		if _, _, err = s.authorize(r, &opts); err == nil {
			err = badRequest("POST /upload takes multipart/form-data or application/vnd.ipld.car")
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st := state(r)
	st.cid, st.mimeType = pins[0].CID, pins[0].MimeType
	for _, p := range pins {
		st.bytes += p.Size
	}
	if len(pins) == 1 {
		writeJSON(w, http.StatusOK, s.result(r, pins[0]))
		return
	}
	out := make([]uploadResult, len(pins))
	for i, p := range pins {
		out[i] = s.result(r, p)
	}
	writeJSON(w, http.StatusOK, map[string]any{"cid": pins[0].CID, "roots": out})
}

// authorize authenticates a self-authenticating upload once its options are
// known (the credential may be the `token` field) and binds its parameters.
func (s *Server) authorize(r *http.Request, opts *uploadOptions) (token.Grant, token.Params, error) {
	st := state(r)
	g, err := s.authenticate(r, []token.Scope{token.ScopeUpload}, opts.token)
	if errors.Is(err, token.ErrMissing) {
		return token.Grant{}, token.Params{}, apiErr(http.StatusUnauthorized, "UNAUTHORIZED",
			"missing credential: send Authorization (or X-Api-Key), or the multipart field token before the first file part")
	}
	if err != nil {
		return token.Grant{}, token.Params{}, err
	}
	st.grant = &g
	params, err := s.bindParams(r, g, token.Params{Name: opts.name, Metadata: opts.metadata, CIDVersion: opts.cidVersion, WrapWithDirectory: opts.wrap}, opts.description)
	if err != nil {
		s.failToken(g, err)
		return token.Grant{}, token.Params{}, err
	}
	return g, params, nil
}

func (s *Server) uploadCAR(r *http.Request, opts *uploadOptions) ([]store.Pin, error) {
	g, params, err := s.authorize(r, opts)
	if err != nil {
		return nil, err
	}
	const carType = "application/vnd.ipld.car"
	if err := g.CheckFile(token.File{Size: r.ContentLength, DeclaredType: carType, SniffedType: carType}); err != nil {
		s.failToken(g, err)
		return nil, err
	}
	u, err := s.beginUpload(g, profileFor(params.CIDVersion))
	if err != nil {
		return nil, err
	}
	lr := &limitReader{r: r.Body, left: u.fileLimit()}
	cr := &countReader{r: lr}
	roots, err := u.imp.AddCAR(r.Context(), cr)
	u.read = cr.n
	if err != nil {
		u.fail(err)
		return nil, err
	}
	if len(roots) == 0 {
		err := apiErr(http.StatusBadRequest, "INVALID_CONTENT", "the CAR has no roots")
		u.fail(err)
		return nil, err
	}
	pins := make([]store.Pin, len(roots))
	for i, root := range roots {
		pins[i] = store.Pin{CID: root.String(), Name: params.Name, Description: opts.description,
			Metadata: params.Metadata, MimeType: carType, Size: cr.n}
	}
	// Like `ipfs dag import`, a root is pinned only if the CAR (with what
	// is here already) holds its whole DAG; a partial DAG is refused.
	u.verify = func(ctx context.Context, pins []store.Pin) error {
		for i, root := range roots {
			size, complete, err := s.node.LocalDAG(ctx, root)
			if err != nil {
				return err
			}
			if !complete {
				return apiErr(http.StatusBadRequest, "INVALID_CONTENT", "the CAR does not hold the whole DAG of its root %s", root)
			}
			// Each root's size is its own DAG's, not the whole CAR's.
			pins[i].DagSize, pins[i].Size = int64(size), int64(size)
		}
		return nil
	}
	return u.commit(r.Context(), pins)
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// uploadMultipart streams every file part into one import. One file gives
// its file CID; several files, or names with "/", give a directory.
func (s *Server) uploadMultipart(r *http.Request, opts *uploadOptions) ([]store.Pin, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest("malformed multipart body: %v", err)
	}
	var (
		u       *uploadSession
		params  token.Params
		entries []node.DirEntry
		mimes   []string
		total   int64
	)
	fail := func(err error) ([]store.Pin, error) {
		if u != nil {
			u.fail(err)
		}
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(multipartErr(err))
		}
		filename, isFile := partFileName(part)
		if !isFile {
			if u != nil {
				return fail(badRequest("option field %q must come before the file parts", part.FormName()))
			}
			value, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				return fail(multipartErr(err))
			}
			if len(value) > maxFieldBytes {
				return fail(badRequest("field %q is longer than %d bytes", part.FormName(), maxFieldBytes))
			}
			if err := opts.set(part.FormName(), string(value)); err != nil {
				return fail(err)
			}
			continue
		}
		if u == nil {
			var g token.Grant
			g, params, err = s.authorize(r, opts)
			if err != nil {
				return nil, err
			}
			if u, err = s.beginUpload(g, profileFor(params.CIDVersion)); err != nil {
				return nil, err
			}
		}
		p, err := cleanPath(filename)
		if err != nil {
			return fail(err)
		}
		if err := checkJWTFile(r, len(entries), p); err != nil {
			return fail(err)
		}
		c, n, sniffed, err := u.addFile(r.Context(), part, p, mediaType(part.Header.Get("Content-Type")))
		if err != nil {
			return fail(multipartErr(err))
		}
		entries = append(entries, node.DirEntry{Path: p, Cid: c, Size: uint64(n)})
		mimes = append(mimes, sniffed)
		total += n
	}
	if u == nil {
		return nil, badRequest("the request has no file part")
	}
	root, name, mimeType, err := s.buildRoot(r.Context(), u, entries, mimes, params)
	if err != nil {
		return fail(err)
	}
	if params.Name != "" {
		name = params.Name
	}
	return u.commit(r.Context(), []store.Pin{{
		CID: root.String(), Name: name, Description: opts.description,
		Metadata: params.Metadata, MimeType: mimeType, Size: total,
	}})
}

// buildRoot picks the upload's root. A single file without a directory in
// its name is its own root unless wrapWithDirectory is set. Otherwise the
// files form a directory; when every path shares one top directory (a
// folder upload, "site/a.txt", "site/b.txt"), that directory is the root,
// as `ipfs add -r site` gives, unless wrapWithDirectory asks for the wrapper.
func (s *Server) buildRoot(ctx context.Context, u *uploadSession, entries []node.DirEntry, mimes []string, p token.Params) (cid.Cid, string, string, error) {
	wrap := p.WrapWithDirectory != nil && *p.WrapWithDirectory
	if len(entries) == 1 && !strings.Contains(entries[0].Path, "/") && !wrap {
		return entries[0].Cid, entries[0].Path, mimes[0], nil
	}
	name := ""
	if top, ok := commonTop(entries); ok && !wrap {
		name = top
		trimmed := make([]node.DirEntry, len(entries))
		for i, e := range entries {
			trimmed[i] = e
			trimmed[i].Path = strings.TrimPrefix(e.Path, top+"/")
		}
		entries = trimmed
	}
	root, err := u.imp.AddDirectory(ctx, entries)
	if err != nil {
		return cid.Undef, "", "", err
	}
	return root, name, "inode/directory", nil
}

// commonTop returns the first path segment when every entry lies below it.
func commonTop(entries []node.DirEntry) (string, bool) {
	top, _, ok := strings.Cut(entries[0].Path, "/")
	if !ok {
		return "", false
	}
	for _, e := range entries[1:] {
		if t, _, ok := strings.Cut(e.Path, "/"); !ok || t != top {
			return "", false
		}
	}
	return top, true
}

// partFileName returns a part's file name as sent. multipart.Part.FileName
// keeps only the base name; folder uploads need the whole relative path.
// Kubo's client percent-encodes it, so it is unescaped when that parses.
func partFileName(p *multipart.Part) (string, bool) {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return "", false
	}
	name, ok := params["filename"]
	if !ok {
		return "", false
	}
	if strings.Contains(name, "%") {
		if un, err := url.PathUnescape(name); err == nil {
			name = un
		}
	}
	return name, true
}

// cleanPath validates a file's path within an upload: relative, no "." or
// ".." segments, no empty segments, no backslashes or NULs.
func cleanPath(name string) (string, error) {
	if name == "" {
		return "file", nil
	}
	if strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(name, "/") {
		return "", badRequest("invalid file name %q", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", badRequest("invalid file name %q", name)
		}
	}
	if path.Clean(name) != name {
		return "", badRequest("invalid file name %q", name)
	}
	return name, nil
}

// multipartErr keeps policy and size errors as they are and reports the
// rest as a malformed body.
func multipartErr(err error) error {
	var e *Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &e), errors.As(err, &mbe), errors.Is(err, errSizeExceeded),
		errors.Is(err, context.Canceled), errors.Is(err, token.ErrMimeNotAllowed), errors.Is(err, token.ErrSizeExceeded):
		return err
	case toAPIError(err).Status != http.StatusInternalServerError:
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "multipart") {
		return badRequest("malformed multipart body: %v", err)
	}
	return err
}
