// Package clients embeds ninja's browser client library (clients/js: an ES
// module with no dependencies, its React and Vue bindings and their
// TypeScript declarations) so the server can serve it at /js/, the same
// bytes an app would copy from the repository or install from clients/js.
package clients

import (
	"embed"
	"io/fs"
)

// The files are named one by one: clients/js also holds the library's
// tests, package.json and, after npm ci, node_modules, none of which is
// served.
//
//go:embed js/ninja.js js/ninja.d.ts js/react.js js/react.d.ts js/vue.js js/vue.d.ts
var files embed.FS

// JS returns the library's files, rooted at clients/js.
func JS() fs.FS {
	sub, err := fs.Sub(files, "js")
	if err != nil {
		panic(err) // "js" is a valid path and embedded: unreachable
	}
	return sub
}
