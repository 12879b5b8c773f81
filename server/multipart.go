package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Multipart bounds: a non-file field (name, metadata, token) and the
// number of fields, so option fields cannot be a way around the body's
// size accounting.
const (
	maxFieldBytes = 64 << 10
	maxFields     = 256
)

// uploadOptions are POST /upload's options, from the query string and the
// form fields.
type uploadOptions struct {
	describe   pinning.Describe
	cidVersion *int
	token      string
}

// set applies one option. afterFiles says whether a file part came first:
// then an option that changes how bytes are imported is refused (naming
// it), and what only describes the pin is taken. Unknown fields are
// ignored, as form builders add their own.
func (o *uploadOptions) set(key, value string, afterFiles bool) error {
	var err error
	switch key {
	case "name":
		o.describe.Name = value
	case "description":
		o.describe.Description = value
	case "metadata", "keyvalues":
		o.describe.Metadata, err = parseMetadata([]byte(value))
	case "cidVersion", "cid-version":
		if afterFiles {
			return fmt.Errorf("%w: option field %q changes how the files are imported, so it must come before the file parts", pinning.ErrInvalid, key)
		}
		o.cidVersion, err = parseCIDVersion(value)
	case "wrapWithDirectory", "wrap-with-directory":
		o.describe.WrapWithDirectory, err = parseBoolParam(key, value)
	case "token":
		o.token = value
	}
	return err
}

// hasHeaderCredential reports whether the request carries a credential in
// its headers, which is then checked before any of the body is read.
func hasHeaderCredential(r *http.Request) bool {
	return r.Header.Get("X-Api-Key") != "" || r.Header.Get("Authorization") != ""
}

// handleUpload is the streaming upload: a multipart/form-data body read part
// by part straight into the block store, or a CAR body.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) error {
	var opts uploadOptions
	for key, vals := range r.URL.Query() {
		if err := opts.set(key, vals[0], false); err != nil {
			return err
		}
	}
	// A credential in the headers is checked before any of the body is
	// read: an unauthenticated client costs nothing more.
	if hasHeaderCredential(r) {
		if err := s.authorizeUpload(r, &opts); err != nil {
			return err
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.svc.MaxUploadBytes()+(1<<20))
	var (
		pins []store.Pin
		err  error
	)
	switch mediaType(r.Header.Get("Content-Type")) {
	case pinning.CARType:
		pins, err = s.uploadCAR(r, &opts)
	case "multipart/form-data":
		pins, err = s.uploadMultipart(r, &opts)
	default:
		// Authenticate first: a caller without the upload scope learns that,
		// not how to format a body.
		if err = s.authorizeUpload(r, &opts); err == nil {
			err = fmt.Errorf("%w: POST /upload takes multipart/form-data or application/vnd.ipld.car", pinning.ErrInvalid)
		}
	}
	if err != nil {
		return err
	}
	reportUpload(r, pins)
	if len(pins) == 1 {
		writeJSON(w, http.StatusOK, s.result(r, pins[0]))
		return nil
	}
	out := api.MultiUploadResult{CID: pins[0].CID, Roots: make([]api.UploadResult, len(pins))}
	for i, p := range pins {
		out.Roots[i] = s.result(r, p)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// authorizeUpload authenticates a request whose credential was not in its
// headers: the `token` option (a field before the file parts, or the
// query), once the options before the first file are known.
func (s *Server) authorizeUpload(r *http.Request, opts *uploadOptions) error {
	if state(r).authed {
		return nil
	}
	err := s.authenticate(r, []token.Scope{token.ScopeUpload}, opts.token)
	if errors.Is(err, token.ErrMissing) {
		return fmt.Errorf("%w: send Authorization (or X-Api-Key), or the multipart field token before the first file part", token.ErrMissing)
	}
	if err != nil {
		return err
	}
	return s.bindAccount(r)
}

func (s *Server) uploadCAR(r *http.Request, opts *uploadOptions) ([]store.Pin, error) {
	if err := s.authorizeUpload(r, opts); err != nil {
		return nil, err
	}
	u, err := s.svc.BeginUpload(r.Context(), actor(r), pinning.ImportOptions{CIDVersion: opts.cidVersion})
	if err != nil {
		return nil, err
	}
	defer u.Abort()
	if _, err := u.AddCAR(r.Context(), r.Body, r.ContentLength); err != nil {
		return nil, err
	}
	return u.Finish(r.Context(), opts.describe)
}

// uploadMultipart streams every file part into one upload. One file gives
// its file CID; several files, or names with "/", give a directory.
// Fields that describe the pin may come before or after the files.
func (s *Server) uploadMultipart(r *http.Request, opts *uploadOptions) ([]store.Pin, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, fmt.Errorf("%w: malformed multipart body: no boundary in its Content-Type", pinning.ErrInvalid)
	}
	tail := &tailReader{r: r.Body, keep: len(params["boundary"]) + 8}
	mr := multipart.NewReader(tail, params["boundary"])
	var u *pinning.Upload
	defer func() {
		if u != nil {
			u.Abort()
		}
	}()
	for fields := 0; ; {
		part, err := mr.NextPart()
		// Only the bare io.EOF is the end; "multipart: NextPart: EOF" is a
		// body cut off after a part.
		if err == io.EOF {
			if !tail.closed(params["boundary"]) {
				return nil, fmt.Errorf("%w: truncated multipart body: it does not end with its closing boundary", pinning.ErrInvalid)
			}
			break
		}
		if err != nil {
			return nil, malformed(err)
		}
		filename, isFile := partFileName(part)
		if !isFile {
			if fields++; fields > maxFields {
				return nil, fmt.Errorf("%w: the form has more than %d fields", pinning.ErrInvalid, maxFields)
			}
			if err := readField(part, opts, u != nil); err != nil {
				return nil, err
			}
			continue
		}
		if u == nil {
			if err := s.authorizeUpload(r, opts); err != nil {
				return nil, err
			}
			if u, err = s.svc.BeginUpload(r.Context(), actor(r), pinning.ImportOptions{CIDVersion: opts.cidVersion}); err != nil {
				return nil, err
			}
		}
		info := pinning.FileInfo{Name: filename, DeclaredType: mediaType(part.Header.Get("Content-Type"))}
		body := &partReader{r: part}
		if _, err := u.AddFile(r.Context(), body, info); err != nil {
			return nil, body.blame(err)
		}
	}
	if u == nil {
		if err := s.authorizeUpload(r, opts); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: the request has no file part", pinning.ErrInvalid)
	}
	return u.Finish(r.Context(), opts.describe)
}

// readField reads one non-file field into opts.
func readField(part *multipart.Part, opts *uploadOptions, afterFiles bool) error {
	body := &partReader{r: part}
	value, err := io.ReadAll(io.LimitReader(body, maxFieldBytes+1))
	if err != nil {
		return body.blame(err)
	}
	if len(value) > maxFieldBytes {
		return fmt.Errorf("%w: field %q is longer than %d bytes", pinning.ErrInvalid, part.FormName(), maxFieldBytes)
	}
	return opts.set(part.FormName(), string(value), afterFiles)
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

// tailReader remembers the last bytes of a body, so the upload can check
// that it ended with the closing boundary: mime/multipart also reports a
// body cut off right after a boundary line as a clean end.
type tailReader struct {
	r    io.Reader
	keep int
	tail []byte
}

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.tail = append(t.tail, p[:n]...)
		if len(t.tail) > 2*t.keep {
			t.tail = append(t.tail[:0], t.tail[len(t.tail)-t.keep:]...)
		}
	}
	return n, err
}

// closed reports whether the body ended with "--boundary--" (and optional
// trailing whitespace), RFC 2046's close delimiter.
func (t *tailReader) closed(boundary string) bool {
	end := strings.TrimRight(string(t.tail), " \t\r\n")
	return strings.HasSuffix(end, "--"+boundary+"--")
}

// partReader remembers the error its part's body failed with, so an
// upload that fails can tell a malformed or truncated body (the client's
// fault, 400) from its own errors, without looking at error text.
type partReader struct {
	r   io.Reader
	err error
}

func (p *partReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF {
		p.err = err
	}
	return n, err
}

// blame returns err, reported as a malformed body when the body's own read
// failed (a cut-off body, a broken part), unless that failure is the
// request's size limit or the client leaving.
func (p *partReader) blame(err error) error {
	if p.err == nil {
		return err
	}
	return malformed(p.err)
}

// malformed reports an error of the multipart reader as invalid input;
// the body's size limit and a request that ended pass through.
func malformed(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || isCanceled(err) || errors.Is(err, errBodyTooSlow) {
		return err
	}
	return fmt.Errorf("%w: malformed multipart body: %v", pinning.ErrInvalid, err)
}
