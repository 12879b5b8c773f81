package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X github.com/ninja-ipfs/ninja/cli.version=…".
var version = ""

// VersionInfo is what `ninja version` reports, read from the binary's
// build information: no ldflags are needed for the commit.
type VersionInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes
	Go       string `json:"go"`
	Boxo     string `json:"boxo,omitempty"`
	Libp2p   string `json:"libp2p,omitempty"`
}

// Version reports the build's version: the -ldflags value if set, else the
// module version; the VCS revision and the versions of boxo and go-libp2p
// come from the build info.
func Version() VersionInfo {
	v := VersionInfo{Version: version, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/ipfs/boxo":
				v.Boxo = d.Version
			case "github.com/libp2p/go-libp2p":
				v.Libp2p = d.Version
			}
		}
		if v.Version == "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	return v
}

func newVersionCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, and Go, boxo and go-libp2p versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := Version()
			if g.json {
				return printJSON(cmd.OutOrStdout(), v)
			}
			commit := v.Commit
			if commit == "" {
				commit = "unknown (built without VCS information)"
			} else if v.Modified {
				commit += " (modified)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ninja %s\ncommit %s\n%s, boxo %s, go-libp2p %s\n", v.Version, commit, v.Go, v.Boxo, v.Libp2p)
			return nil
		},
	}
}
