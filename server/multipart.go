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

// uploadOptions are a streaming upload's options, from the query string
// and the form fields.
type uploadOptions struct {
	describe   pinning.Describe
	cidVersion *int
	car        bool // the file parts are CARs (Pinata's car=true)
	token      string
	// dialect, when set, reads a dialect's own fields first (Pinata's
	// network, group_id, pinataOptions, …) and reports whether it took
	// the field; the rest go to the common ones below.
	dialect func(o *uploadOptions, key, value string, afterFiles bool) (bool, error)
}

// set applies one option. afterFiles says whether a file part came first:
// then an option that would change how the bytes were imported is refused
// (naming it) unless it asks for what was used, and what only describes
// the pin is taken. Unknown fields are ignored, as form builders add their
// own.
func (o *uploadOptions) set(key, value string, afterFiles bool) error {
	if o.dialect != nil {
		if took, err := o.dialect(o, key, value, afterFiles); took || err != nil {
			return err
		}
	}
	var err error
	switch key {
	case "name", "fileName":
		o.describe.Name = value
	case "description":
		o.describe.Description = value
	case "metadata", "keyvalues":
		o.describe.Metadata, err = parseMetadata([]byte(value))
	case "cidVersion", "cid-version":
		var v *int
		if v, err = parseCIDVersion(value); err == nil {
			err = o.setCIDVersion(key, v, afterFiles)
		}
	case "wrapWithDirectory", "wrap-with-directory":
		o.describe.WrapWithDirectory, err = parseBoolParam(key, value)
	case "token":
		o.token = value
	default:
		if imageKitParams[key] {
			if o.describe.Fields == nil {
				o.describe.Fields = map[string]string{}
			}
			o.describe.Fields[key] = value
		}
	}
	return err
}

// setCIDVersion takes a CID version option. After the first file part it
// can no longer change how the files were imported, so it is taken when it
// asks for the version they were imported with (v1 unless set before) and
// refused, naming the field, when it asks for another.
func (o *uploadOptions) setCIDVersion(field string, v *int, afterFiles bool) error {
	if !afterFiles {
		o.cidVersion = v
		return nil
	}
	used := 1
	if o.cidVersion != nil {
		used = *o.cidVersion
	}
	if v != nil && *v != used {
		return fmt.Errorf("%w: option field %q asks for CID version %d after the file parts were imported as CID version %d; send it before the files", pinning.ErrInvalid, field, *v, used)
	}
	return nil
}

// setCAR takes a car option (the file parts are CARs), which must come
// before the files when it is true.
func (o *uploadOptions) setCAR(field, value string, afterFiles bool) error {
	car, err := parseBoolParam(field, value)
	if err != nil || car == nil || !*car {
		return err
	}
	if afterFiles && !o.car {
		return fmt.Errorf("%w: option field %q says the files are CARs after the file parts were imported as files; send it before the files", pinning.ErrInvalid, field)
	}
	o.car = true
	return nil
}

// imageKitParams are ImageKit's upload parameters (tags, folder, …), read
// from the form so that an ImageKit client's upload works unchanged.
var imageKitParams = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range token.ImageKitParams() {
		m[k] = true
	}
	return m
}()

// hasHeaderCredential reports whether the request carries a credential in
// its headers (Pinata's key pair included), which is then checked before
// any of the body is read.
func hasHeaderCredential(r *http.Request) bool {
	return r.Header.Get("X-Api-Key") != "" || r.Header.Get("Authorization") != "" ||
		r.Header.Get(pinataKeyHeader) != "" || r.Header.Get(pinataSecretHeader) != ""
}

// handleUpload is the streaming upload: a multipart/form-data body read part
// by part straight into the block store, or a CAR body.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) error {
	pins, err := s.streamUpload(w, r, &uploadOptions{})
	if err != nil {
		return err
	}
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

// streamUpload runs a streaming upload with opts (a dialect's fields set
// there): the query's options, then a multipart body or a CAR body, into
// one domain upload. Every dialect's multipart upload is this one.
func (s *Server) streamUpload(w http.ResponseWriter, r *http.Request, opts *uploadOptions) ([]store.Pin, error) {
	for key, vals := range r.URL.Query() {
		if err := opts.set(key, vals[0], false); err != nil {
			return nil, err
		}
	}
	// A credential in the headers is checked before any of the body is
	// read: an unauthenticated client costs nothing more.
	if hasHeaderCredential(r) {
		if err := s.authorizeUpload(r, opts); err != nil {
			return nil, err
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.svc.MaxUploadBytes()+(1<<20))
	var (
		pins []store.Pin
		err  error
	)
	switch mediaType(r.Header.Get("Content-Type")) {
	case pinning.CARType:
		pins, err = s.uploadCAR(r, opts)
	case "multipart/form-data":
		pins, err = s.uploadMultipart(r, opts)
	default:
		// Authenticate first: a caller without the upload scope learns that,
		// not how to format a body.
		if err = s.authorizeUpload(r, opts); err == nil {
			err = errNotAnUploadBody(r)
		}
	}
	if err != nil {
		return nil, err
	}
	reportUpload(r, pins)
	return pins, nil
}

// errNotAnUploadBody says what a streaming upload takes; a tus request
// sent here is told where tus uploads go.
func errNotAnUploadBody(r *http.Request) error {
	if r.Header.Get("Upload-Length") != "" || r.Header.Get("Tus-Resumable") != "" {
		return fmt.Errorf("%w: resumable (tus) uploads are created with POST /tus/; %s %s takes multipart/form-data or application/vnd.ipld.car", pinning.ErrInvalid, r.Method, r.URL.Path)
	}
	return fmt.Errorf("%w: %s %s takes multipart/form-data or application/vnd.ipld.car", pinning.ErrInvalid, r.Method, r.URL.Path)
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
		return fmt.Errorf("%w: send Authorization (or X-Api-Key), or the form field token (before or after the files)", token.ErrMissing)
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
// Fields that describe the pin may come before or after the files. When the
// credential is the form's `token` field and a file comes before it (as
// ImageKit's client upload sends them), the files before it are spooled to
// disk, within a bound, until the token has been checked.
func (s *Server) uploadMultipart(r *http.Request, opts *uploadOptions) ([]store.Pin, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, fmt.Errorf("%w: malformed multipart body: no boundary in its Content-Type", pinning.ErrInvalid)
	}
	tail := &tailReader{r: r.Body, keep: len(params["boundary"]) + 8}
	mr := multipart.NewReader(tail, params["boundary"])
	up := &formUpload{s: s, r: r, opts: opts}
	defer up.close()
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
			if err := readField(part, opts, up.began()); err != nil {
				return nil, err
			}
			if part.FormName() == "token" && up.spool != nil {
				if err := up.begin(); err != nil { // the token that the spooled files waited for
					return nil, err
				}
			}
			continue
		}
		info := pinning.FileInfo{Name: filename, DeclaredType: mediaType(part.Header.Get("Content-Type"))}
		if err := up.add(part, info); err != nil {
			return nil, err
		}
	}
	if !up.began() {
		if err := up.authorize(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: the request has no file part", pinning.ErrInvalid)
	}
	if err := up.begin(); err != nil {
		return nil, err
	}
	return up.u.Finish(r.Context(), opts.describe)
}

// formUpload is a multipart upload in progress: its domain upload once
// the credential is known, and the files spooled before it was.
type formUpload struct {
	s     *Server
	r     *http.Request
	opts  *uploadOptions
	u     *pinning.Upload
	spool *spool
	authd bool
}

func (f *formUpload) began() bool { return f.u != nil || f.spool != nil }

// waiting reports whether a file must be spooled: no credential yet, in
// the headers or an earlier token field.
func (f *formUpload) waiting() bool {
	return !f.authd && !state(f.r).authed && f.opts.token == ""
}

// add imports a file part, or spools it while the credential is unknown.
func (f *formUpload) add(part *multipart.Part, info pinning.FileInfo) error {
	if f.u == nil && f.waiting() {
		if f.spool == nil {
			f.spool = f.s.newSpool()
		}
		return f.spool.add(part, info, f.opts.car)
	}
	if err := f.begin(); err != nil {
		return err
	}
	body := &partReader{r: part}
	if f.opts.car {
		if _, err := f.u.AddCAR(f.r.Context(), body, -1); err != nil {
			return body.blame(err)
		}
		return nil
	}
	if _, err := f.u.AddFile(f.r.Context(), body, info); err != nil {
		return body.blame(err)
	}
	return nil
}

// authorize authenticates the upload once.
func (f *formUpload) authorize() error {
	if f.authd {
		return nil
	}
	if err := f.s.authorizeUpload(f.r, f.opts); err != nil {
		return err
	}
	f.authd = true
	return nil
}

// begin authenticates (once), begins the domain upload and imports what
// was spooled, in order.
func (f *formUpload) begin() error {
	if f.u != nil {
		return nil
	}
	if err := f.authorize(); err != nil {
		return err
	}
	u, err := f.s.svc.BeginUpload(f.r.Context(), actor(f.r), pinning.ImportOptions{CIDVersion: f.opts.cidVersion})
	if err != nil {
		return err
	}
	f.u = u
	if f.spool != nil {
		if err := f.spool.replay(f.r.Context(), u); err != nil {
			return err
		}
		f.spool.remove()
		f.spool = nil
	}
	return nil
}

func (f *formUpload) close() {
	if f.u != nil {
		f.u.Abort()
	}
	if f.spool != nil {
		f.spool.remove()
	}
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
