package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ninja-ipfs/ninja/app"
)

// newReadyCmd is `ninja ready`: a health check for scripts and container
// runtimes (the Dockerfile's HEALTHCHECK). It asks the server on --data
// through its admin socket (so it works whatever the HTTP and TLS
// settings), or --server over HTTP, for GET /readyz, and exits 0 only on
// 200. Unlike the other client commands it never opens the data directory
// itself: no running server is the answer "not ready".
func newReadyCmd(g *globalFlags) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "ready",
		Short: "Exit 0 if the server is ready (GET /readyz), else print what is not and exit 1",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			hc, base := readyClient(g)
			req, err := http.NewRequestWithContext(ctx, "GET", base+"/readyz", nil)
			if err != nil {
				return err
			}
			resp, err := hc.Do(req)
			if err != nil {
				if g.server == "" {
					return fmt.Errorf("not ready: no server answers on %s: %w", app.Layout{Dir: g.dataDir}.Socket(), unwrapURLError(err))
				}
				return fmt.Errorf("not ready: %w", err)
			}
			defer resp.Body.Close()
			if err := decodeResponse(resp, nil); err != nil {
				return fmt.Errorf("not ready: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ready")
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
	return cmd
}

// readyClient is an HTTP client for --server, else for the admin socket.
func readyClient(g *globalFlags) (*http.Client, string) {
	if g.server != "" {
		return &http.Client{}, strings.TrimRight(g.server, "/")
	}
	sock := app.Layout{Dir: g.dataDir}.Socket()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}, "http://ninja"
}

// unwrapURLError drops net/http's "Get \"http://ninja/readyz\":" prefix,
// which names no real URL for the socket.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
