package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

// uiCSP is the Content-Security-Policy of every UI response. The UI is
// same-origin ES modules and a stylesheet: no inline script or style, no
// third-party origin, no framing. Pages render user-supplied names and
// metadata, so this is the backstop should one ever reach the DOM as markup.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// uiAsset is one embedded file, read once at start.
type uiAsset struct {
	body  []byte
	etag  string
	ctype string
}

// uiFiles serves the embedded web UI (package web). Its files are few and
// small, so they are held in memory with a content-hash ETag each.
//
// Every response, HTML or asset, carries Cache-Control: no-cache with that
// ETag: browsers keep their copy and revalidate it with If-None-Match (a
// 304 without a body), so the asset URLs need no version in them and a
// browser never runs the modules of an old binary against a new one.
type uiFiles struct {
	assets map[string]uiAsset // nil: built with the noui tag
}

// newUI loads the UI from fsys; a nil fsys (the noui build) gives a uiFiles
// that answers 404.
func newUI(fsys fs.FS, log *slog.Logger) *uiFiles {
	u := &uiFiles{}
	if fsys == nil {
		return u
	}
	assets := map[string]uiAsset{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		assets[p] = uiAsset{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: uiContentType(p)}
		return nil
	})
	if err != nil {
		log.Error("load web ui", "err", err)
		return u
	}
	u.assets = assets
	return u
}

// uiContentType is fixed per extension rather than taken from the system's
// MIME tables, which differ between hosts (.js in particular).
func uiContentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".json":
		return "application/json"
	}
	return "application/octet-stream"
}

// page serves one HTML page, whatever the query string.
func (u *uiFiles) page(name string) handler {
	return func(w http.ResponseWriter, r *http.Request) error { u.serve(w, r, name); return nil }
}

// asset serves GET /ui/{path}.
func (u *uiFiles) asset(w http.ResponseWriter, r *http.Request) error {
	u.serve(w, r, strings.TrimPrefix(r.URL.Path, "/ui/"))
	return nil
}

func (u *uiFiles) serve(w http.ResponseWriter, r *http.Request, name string) {
	h := w.Header()
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// The upload page carries its token in the query string: never send
	// it on to the pages it links to (gateway links, other sites).
	h.Set("Referrer-Policy", "no-referrer")
	if u.assets == nil {
		http.Error(w, "this ninja binary was built without the web UI (noui)", http.StatusNotFound)
		return
	}
	a, ok := u.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	// ServeContent answers If-None-Match with 304, HEAD without a body.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
