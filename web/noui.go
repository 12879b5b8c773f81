//go:build noui

package web

import "io/fs"

// FS returns nil: this binary was built with the noui tag, without the UI.
func FS() fs.FS { return nil }
