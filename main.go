// Command ninja is a self-hosted IPFS pinning service in one binary: an
// embedded IPFS node, a bbolt database and an HTTP API with secure
// client-side upload tokens. `ninja serve` runs it; the other commands
// manage a running (or stopped) server.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "ninja:", err)
		os.Exit(1)
	}
}

// exitError carries an exit code for errors already reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// globalFlags are shared by every command.
type globalFlags struct {
	dataDir string
	server  string
	apiKey  string
	account string
	json    bool
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "ninja",
		Short:         "A self-hosted IPFS pinning service with secure client-side upload tokens",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.dataDir, "data", envOr("NINJA_DATA", "./ninja-data"), "data directory (NINJA_DATA)")
	pf.StringVar(&g.server, "server", os.Getenv("NINJA_SERVER"), "URL of a remote ninja server for client commands (NINJA_SERVER)")
	pf.StringVar(&g.apiKey, "api-key", os.Getenv("NINJA_API_KEY"), "API key for --server (NINJA_API_KEY)")
	pf.StringVar(&g.account, "account", "", "account (id or name) a client command acts on; default: the first account")
	pf.BoolVar(&g.json, "json", false, "print JSON")
	root.AddCommand(newGCCmd(g), newExportCmd(g))
	root.AddCommand(newServeCmd(g), newAccountCmd(g), newKeyCmd(g), newTokenCmd(g), newSigningKeyCmd(g), newUploadCmd(g))
	return root
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
