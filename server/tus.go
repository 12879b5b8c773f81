package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	tusd "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	xslog "golang.org/x/exp/slog"

	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// The tus 1.0 dialect: resumable uploads under /tus/, with tusd's handler
// (the protocol's reference implementation) speaking the protocol and the
// domain (pinning's resumable uploads) doing everything else, through the
// data store in tusstore.go. tusd provides core, creation,
// creation-with-upload and termination; this file adds what it lacks:
//
//   - authentication on every request (the upload continues only with the
//     credential that created it), and the domain's errors in the API's
//     error shape instead of tusd's text bodies;
//   - the checksum extension (Upload-Checksum on PATCH and on POST with a
//     body; a mismatch is 460 and the chunk is discarded);
//   - the expiration extension (Upload-Expires);
//   - Location under the public URL (or the trusted proxy's host);
//   - Upload-CID on the response that pins the upload (and on any HEAD or
//     PATCH of a pinned one, so a client that lost the final response
//     still learns the CID).
//
// A request without Tus-Resumable is taken as 1.0.0: Pinata's SDK sends
// none. That SDK creates its tus uploads with POST /v3/files (Upload-Length,
// no multipart body): the Pinata dialect's handler of that route hands such
// a request to handleTus, which answers with a Location under /tus/, where
// the SDK's PATCHes then go.

// Tus protocol conditions the domain has no word for.
var (
	errTusVersion       = errors.New("unsupported tus version")
	errChecksumMismatch = errors.New("checksum mismatch")
	errOffsetMismatch   = errors.New("offset mismatch")
	errUploadLocked     = errors.New("upload locked")
)

// The extensions this endpoint adds to tusd's, and the checksum
// algorithms it verifies.
const (
	tusOwnExtensions = "checksum,expiration"
	tusChecksumAlgos = "md5,sha1,sha256,sha512"
)

// tusCORS are the CORS lists of the tus endpoint (cors.go): what a browser
// client (tus-js-client, Uppy) sends and must read.
const (
	tusCORSMethods = "GET, HEAD, POST, PATCH, DELETE, OPTIONS"
	tusCORSAllow   = "Authorization, Content-Type, X-Api-Key, Tus-Resumable, Upload-Length, Upload-Offset, " +
		"Upload-Metadata, Upload-Checksum, Upload-Defer-Length, Upload-Concat, X-HTTP-Method-Override, X-Requested-With, X-Request-ID"
	tusCORSExpose = "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, Upload-Offset, " +
		"Upload-Length, Upload-Metadata, Upload-Expires, Upload-CID, Location, Retry-After"
)

func tusPath(p string) bool { return p == "/tus" || strings.HasPrefix(p, "/tus/") }

// isTusCreation tells a tus creation sent to another upload route (Pinata's
// POST /v3/files) from an upload with a body: it has an Upload-Length (or
// defers it) and no multipart or CAR body.
func isTusCreation(r *http.Request) bool {
	if r.Header.Get("Upload-Length") == "" && r.Header.Get("Upload-Defer-Length") == "" {
		return false
	}
	ct := r.Header.Get("Content-Type")
	return ct == "" || ct == "application/offset+octet-stream"
}

// newTus builds tusd's handler over the domain's resumable uploads.
func (s *Server) newTus() (http.Handler, error) {
	ds := &tusStore{svc: s.svc}
	composer := tusd.NewStoreComposer()
	composer.UseCore(ds)
	composer.UseTerminater(ds)
	// In-process locks: a request for an upload that another request still
	// holds (a client that reconnected before the server saw the old
	// connection die) asks the holder to stop, so the resume goes ahead.
	composer.UseLocker(memorylocker.New())
	h, err := tusd.NewUnroutedHandler(tusd.Config{
		StoreComposer:      composer,
		BasePath:           "/tus/",
		MaxSize:            s.svc.MaxUploadBytes(),
		DisableDownload:    true, // the gateway serves what was uploaded
		DisableTermination: false,
		Cors:               &tusd.CorsConfig{Disable: true}, // cors.go does it, for every endpoint alike
		Logger:             xslog.New(xslog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, fmt.Errorf("tus handler: %w", err)
	}
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			h.PostFile(w, r)
		case http.MethodHead:
			h.HeadFile(w, r)
		case http.MethodPatch:
			h.PatchFile(w, r)
		case http.MethodDelete:
			h.DelFile(w, r)
		}
	})
	return h.Middleware(mux), nil
}

// tusCall is what one tus request's data store calls and its response
// share.
type tusCall struct {
	p       pinning.Principal
	id      string // the upload
	expires time.Time
	cid     string    // set once the upload is pinned
	pin     store.Pin // the pin this request made, if it did
	// err is the domain's error behind a failed store call: tusd's
	// response cannot carry it, the API's error shape does.
	err      error
	checksum *checksum
	body     *bodyErr
	cidQuery string // Pinata's X-Upload-Option-Cid-Version
}

type tusCallKey struct{}

func callOf(ctx context.Context) *tusCall {
	if c, ok := ctx.Value(tusCallKey{}).(*tusCall); ok {
		return c
	}
	return &tusCall{}
}

// handleTus serves every tus route: OPTIONS (discovery, public), POST
// (creation), HEAD, PATCH and DELETE of an upload. The wrapper has
// authenticated POST; the others authenticate here, naming the upload
// they continue (an upload JWT may be presented again for the upload it
// created).
func (s *Server) handleTus(w http.ResponseWriter, r *http.Request) error {
	if s.tus == nil {
		return fmt.Errorf("%w: resumable uploads are not enabled on this server", pinning.ErrUnavailable)
	}
	call := &tusCall{}
	id := r.PathValue("id")
	if r.Method != http.MethodOptions {
		if r.Method != http.MethodPost {
			call.id = id
			err := s.authenticateAs(r, pinning.AuthRequest{Scopes: []token.Scope{token.ScopeUpload}, Resumes: id})
			if err == nil {
				err = s.bindAccount(r)
			}
			if err != nil {
				return err
			}
		}
		call.p = actor(r)
		call.cidQuery = r.URL.Query().Get("X-Upload-Option-Cid-Version")
		if r.Header.Get("Tus-Resumable") == "" {
			r.Header.Set("Tus-Resumable", "1.0.0")
		}
		if err := s.tusPrepare(r, call); err != nil {
			return err
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), tusCallKey{}, call))
	r.URL.Path = "/" + id // tusd takes the id from what is left of the path
	r.URL.RawPath = ""
	tw := &tusWriter{w: w, h: http.Header{}, s: s, r: r, call: call}
	s.tus.ServeHTTP(tw, r)
	return s.tusDone(r, tw)
}

// tusPrepare reads what tusd leaves alone: the checksum of the body, and
// a body read error (to tell a client's fault from the server's). A HEAD
// or PATCH of an upload whose bytes are all here but which is not pinned
// yet (its final request was cut short) pins it first.
func (s *Server) tusPrepare(r *http.Request, call *tusCall) error {
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		sum, err := parseChecksum(r.Header.Get("Upload-Checksum"))
		if err != nil {
			return err
		}
		call.body = &bodyErr{r: r.Body}
		r.Body = call.body
		if sum != nil {
			call.checksum = sum
		}
	}
	if r.Method != http.MethodHead && r.Method != http.MethodPatch {
		return nil
	}
	res, err := s.svc.Resumable(r.Context(), call.p, call.id)
	if err != nil || res.CID != "" || res.Offset < res.Length {
		return nil // tusd answers (404, the CID, or the offset)
	}
	pin, err := s.svc.FinishResumable(r.Context(), call.p, call.id)
	if err != nil {
		return err
	}
	call.cid, call.pin = pin.CID, pin
	return nil
}

// tusDone reports the request for analytics and, when tusd answered with
// an error, returns it for the wrapper to write in the API's shape.
func (s *Server) tusDone(r *http.Request, tw *tusWriter) error {
	call, st := tw.call, state(r)
	if call.pin.CID != "" {
		st.bytes, st.cid, st.mimeType = call.pin.Size, call.pin.CID, call.pin.MimeType
	}
	if tw.failed == nil {
		// Only the request that pins the upload is the upload; the others
		// (creation, each chunk) moved it along.
		st.partial = (r.Method == http.MethodPost || r.Method == http.MethodPatch) && call.pin.CID == ""
		return nil
	}
	err := tw.failed.cause(call)
	if r.Method == http.MethodPatch && call.id != "" {
		// A chunk that failed without ending the upload (a cut connection,
		// an offset the client got wrong) is no failed upload either.
		if _, lookErr := s.svc.Resumable(r.Context(), call.p, call.id); lookErr == nil {
			st.partial = true
		}
	}
	for _, k := range []string{"Tus-Resumable", "Upload-Offset", "Location"} {
		if v := tw.h.Get(k); v != "" && (k != "Location" || call.id != "") {
			tw.w.Header().Set(k, tw.fix(k, v))
		}
	}
	if errors.Is(err, errTusVersion) {
		tw.w.Header().Set("Tus-Version", "1.0.0") // what the protocol asks a 412 to say
	}
	return err
}

// tusWriter stands between tusd and the client: it fixes tusd's headers
// (Location, the extensions) and adds ninja's (Upload-Expires,
// Upload-CID), and holds back tusd's text error responses so the wrapper
// writes the API's instead.
type tusWriter struct {
	w      http.ResponseWriter
	h      http.Header // what tusd sets
	s      *Server
	r      *http.Request
	call   *tusCall
	wrote  bool
	failed *tusFailure
}

func (t *tusWriter) Header() http.Header { return t.h }

// Unwrap lets tusd's ResponseController reach the connection (its read
// deadlines).
func (t *tusWriter) Unwrap() http.ResponseWriter { return t.w }

func (t *tusWriter) WriteHeader(code int) {
	if t.wrote || code < 200 {
		return
	}
	t.wrote = true
	if code >= 400 {
		t.failed = &tusFailure{status: code}
		return
	}
	dst := t.w.Header()
	for k, v := range t.h {
		if len(v) > 0 {
			dst.Set(k, t.fix(k, v[0]))
		}
	}
	if c := t.call; c.cid != "" {
		dst.Set("Upload-CID", c.cid)
	} else if !c.expires.IsZero() {
		dst.Set("Upload-Expires", c.expires.UTC().Format(http.TimeFormat))
	}
	if dst.Get("Tus-Extension") != "" {
		dst.Set("Tus-Checksum-Algorithm", tusChecksumAlgos)
	}
	t.w.WriteHeader(code)
}

func (t *tusWriter) Write(b []byte) (int, error) {
	if !t.wrote {
		t.WriteHeader(http.StatusOK)
	}
	if t.failed != nil {
		if room := 1024 - len(t.failed.body); room > 0 {
			t.failed.body = append(t.failed.body, b[:min(len(b), room)]...)
		}
		return len(b), nil
	}
	return t.w.Write(b)
}

// fix is a tusd header as ninja sends it.
func (t *tusWriter) fix(k, v string) string {
	switch k {
	case "Location":
		if t.call.id != "" {
			return t.s.tusLocation(t.r, t.call.id)
		}
	case "Tus-Extension":
		return v + "," + tusOwnExtensions
	}
	return v
}

// tusLocation is an upload's URL: under the public URL when one is set,
// else under the host the client reached (as a trusted proxy forwarded
// it).
func (s *Server) tusLocation(r *http.Request, id string) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL + "/tus/" + id
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if s.trustedPeer(r) {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
			host = h
		}
	}
	return scheme + "://" + host + "/tus/" + id
}

// trustedPeer reports whether the request came straight from a trusted
// proxy.
func (s *Server) trustedPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && s.trusted(addr.Unmap())
}

func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// tusFailure is an error response tusd wrote.
type tusFailure struct {
	status int
	body   []byte // "ERR_CODE: message"
}

// cause is the error behind the failure: the domain's when a store call
// failed, the body's when reading it failed, else tusd's own, by its code.
func (f *tusFailure) cause(call *tusCall) error {
	if call.err != nil {
		return call.err
	}
	if call.body != nil && call.body.err != nil {
		if err := malformedBody(call.body.err); err != nil {
			return err
		}
	}
	code, msg, _ := strings.Cut(strings.TrimSpace(string(f.body)), ": ")
	if sentinel, ok := tusdErrors[code]; ok {
		return fmt.Errorf("%w: %s", sentinel, msg)
	}
	if f.status >= 500 {
		return fmt.Errorf("tus: %s", f.body)
	}
	return fmt.Errorf("%w: %s", pinning.ErrInvalid, msg)
}

// tusdErrors are the sentinels of tusd's error codes; codes not here are
// invalid requests (tusd's 4xx) or the server's fault (5xx).
var tusdErrors = map[string]error{
	tusd.ErrUnsupportedVersion.ErrorCode:    errTusVersion,
	tusd.ErrMaxSizeExceeded.ErrorCode:       token.ErrSizeExceeded,
	tusd.ErrSizeExceeded.ErrorCode:          token.ErrSizeExceeded,
	tusd.ErrNotFound.ErrorCode:              pinning.ErrNotFound,
	tusd.ErrMismatchOffset.ErrorCode:        errOffsetMismatch,
	tusd.ErrFileLocked.ErrorCode:            errUploadLocked,
	tusd.ErrLockTimeout.ErrorCode:           errUploadLocked,
	tusd.ErrUploadInterrupted.ErrorCode:     errUploadLocked,
	tusd.ErrServerShutdown.ErrorCode:        context.Canceled,
	tusd.ErrReadTimeout.ErrorCode:           errBodyTooSlow,
	tusd.ErrNotImplemented.ErrorCode:        pinning.ErrUnavailable,
	tusd.ErrUploadStoppedByServer.ErrorCode: pinning.ErrInvalid,
}

// bodyErr remembers the error a request body failed with (tusd hides it
// from the data store).
type bodyErr struct {
	r   io.ReadCloser
	err error
}

func (b *bodyErr) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (b *bodyErr) Close() error { return b.r.Close() }

// malformedBody is a body read failure as the client's error: too slow, a
// cut-off body, or nil for a request the server ended.
func malformedBody(err error) error {
	switch {
	case errors.Is(err, errBodyTooSlow), isCanceled(err):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the body ended before its Content-Length", pinning.ErrInvalid)
	}
	return nil
}

// partialEndpoint is the endpoint analytics record a request under when it
// moved a resumable upload along without ending it: not an upload route.
func partialEndpoint(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	return method + " (partial) " + path
}
