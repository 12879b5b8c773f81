// Package web holds ninja's browser UI: the operator dashboard (index.html)
// and the public upload page for signed upload tokens (upload.html). It is
// hand-written HTML, CSS and ES modules with no build step and nothing
// fetched from a CDN, embedded in the binary with go:embed. Building with
// the noui tag leaves it out; FS then returns nil and the server answers
// the UI routes with 404.
package web
