package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

// uiCSP is the Content-Security-Policy of every UI response. The UI is
// same-origin ES modules and a stylesheet: no inline script or style, no
// third-party origin, no framing of the UI itself. Pages render
// user-supplied names and metadata, so this is the backstop should one ever
// reach the DOM as markup.
//
// The file view previews content as <img>, <video>/<audio> and a sandboxed
// <iframe> (text, PDF) whose source is this server's own gateway
// (/ipfs/{cid}), hence media-src and frame-src 'self'. The bytes never enter
// the dashboard's document: the browser loads them as a separate resource,
// and every gateway response carries its own CSP sandbox (gateway.go), so a
// framed HTML or SVG file runs in an opaque origin that cannot read the
// dashboard's storage or call the API with its credential. object-src stays
// 'none': no plugin content.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self'; frame-src 'self'; object-src 'none'; " +
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
	// lib is the browser client library (package clients), served at
	// /js/ even without the UI: apps load it from here.
	lib map[string]uiAsset
	// csp is the Content-Security-Policy of every response; "" means
	// uiCSP (see uiCSPFor).
	csp string
}

// newUI loads the UI from fsys and the client library from lib; a nil
// fsys (the noui build) gives a uiFiles whose pages answer 404.
func newUI(fsys, lib fs.FS, log *slog.Logger) *uiFiles {
	u := &uiFiles{}
	if lib != nil {
		var err error
		if u.lib, err = loadAssets(lib); err != nil {
			log.Error("load client library", "err", err)
		}
	}
	if fsys == nil {
		return u
	}
	assets, err := loadAssets(fsys)
	if err != nil {
		log.Error("load web ui", "err", err)
		return u
	}
	u.assets = assets
	return u
}

// loadAssets reads every file of fsys with its content-hash ETag.
func loadAssets(fsys fs.FS) (map[string]uiAsset, error) {
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
		return nil, fmt.Errorf("read embedded files: %w", err)
	}
	return assets, nil
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
	case ".ts": // the library's TypeScript declarations (.d.ts)
		return "application/typescript; charset=utf-8"
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

// library serves GET /js/{file}: the client library. Apps on other
// origins import it as a module script, which browsers fetch with CORS, so
// it is readable from any origin; it is public code and carries no
// credential.
func (u *uiFiles) library(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	u.serveFrom(w, r, u.lib, strings.TrimPrefix(r.URL.Path, "/js/"))
	return nil
}

func (u *uiFiles) serve(w http.ResponseWriter, r *http.Request, name string) {
	if u.assets == nil {
		u.setHeaders(w)
		http.Error(w, "this ninja binary was built without the web UI (noui)", http.StatusNotFound)
		return
	}
	u.serveFrom(w, r, u.assets, name)
}

// uiCSPFor is the UI's CSP with a subdomain gateway on domains: uiCSP,
// with the content hosts *.ipfs.{domain} (any port, unless the domain
// names one) also allowed as image, media and frame sources. When the
// dashboard is served on a gateway domain, its previews' /ipfs/{cid}
// redirect there, each to the CID's own origin, which the frame's
// sandbox attribute still confines.
func uiCSPFor(domains []string) string {
	if len(domains) == 0 {
		return uiCSP
	}
	var hosts []string
	for _, d := range domains {
		if d == stripPort(d) {
			d += ":*"
		}
		hosts = append(hosts, "*.ipfs."+d)
	}
	src := " " + strings.Join(hosts, " ")
	csp := uiCSP
	for _, directive := range []string{"img-src 'self' data:", "media-src 'self'", "frame-src 'self'"} {
		csp = strings.Replace(csp, directive+";", directive+src+";", 1)
	}
	return csp
}

func (u *uiFiles) setHeaders(w http.ResponseWriter) {
	h := w.Header()
	csp := u.csp
	if csp == "" {
		csp = uiCSP
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// The upload page carries its token in the query string: never send
	// it on to the pages it links to (gateway links, other sites).
	h.Set("Referrer-Policy", "no-referrer")
}

func (u *uiFiles) serveFrom(w http.ResponseWriter, r *http.Request, assets map[string]uiAsset, name string) {
	u.setHeaders(w)
	h := w.Header()
	a, ok := assets[name]
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
