package cli

import (
	"runtime/debug"
)

// VersionInfo is what `ninja version` reports.
type VersionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
}

// Version reports the build's version: the -ldflags value if set, else the
// module version or VCS revision from the build info.
func Version() VersionInfo {
	v := VersionInfo{Version: version}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if v.Version == "" {
			v.Version = "dev"
		}
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v.Commit = s.Value
		}
	}
	if v.Version == "" {
		v.Version = bi.Main.Version
	}
	if v.Version == "" || v.Version == "(devel)" {
		v.Version = "dev"
	}
	return v
}
