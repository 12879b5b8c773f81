// Command ninja is a self-hosted IPFS pinning service in one binary: an
// embedded IPFS node, a bbolt database and an HTTP API with secure
// client-side upload tokens. `ninja serve` runs it; the other commands
// manage a running (or stopped) server. The commands live in package cli.
package main

import (
	"context"
	"os"

	"github.com/ninja-ipfs/ninja/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
