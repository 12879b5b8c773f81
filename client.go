package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ninja-ipfs/ninja/server"
	"github.com/ninja-ipfs/ninja/store"
)

// apiClient is how client commands reach a ninja: a remote server over
// HTTP with an API key (--server), the local server through its admin
// socket, or, when no server runs, the database opened directly and served
// by the same admin handler in-process. All three speak the same HTTP API,
// so every command has one code path.
type apiClient struct {
	base    string
	apiKey  string
	account string
	hc      *http.Client
	close   func()
}

// connect picks the transport as described on apiClient.
func connect(g *globalFlags) (*apiClient, error) {
	c := &apiClient{account: g.account, close: func() {}}
	if g.server != "" {
		if g.apiKey == "" {
			return nil, errors.New("--server needs --api-key (or NINJA_API_KEY)")
		}
		c.base = strings.TrimRight(g.server, "/")
		c.apiKey = g.apiKey
		c.hc = &http.Client{Timeout: 0}
		return c, nil
	}
	sock := sockPath(g.dataDir)
	if conn, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		conn.Close()
		c.base = "http://ninja"
		c.hc = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			},
		}}
		return c, nil
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, hasher, err := openExistingStore(g.dataDir, logger)
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w, and its admin socket %s does not answer", err, sock)
	}
	if err != nil {
		return nil, err
	}
	signer, err := loadSigner(g.dataDir)
	if err != nil {
		st.Close(context.Background())
		return nil, err
	}
	srv := server.New(server.Config{Version: version, Logger: logger}, server.Deps{Store: st, Hasher: hasher, Signer: signer})
	c.base = "http://ninja"
	c.hc = &http.Client{Transport: handlerTransport{srv.AdminHandler()}}
	c.close = func() { st.Close(context.Background()) }
	return c, nil
}

// withClient is a command's RunE that connects first and closes after.
func withClient(g *globalFlags, fn func(cmd *cobra.Command, args []string, c *apiClient) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := connect(g)
		if err != nil {
			return err
		}
		defer c.close()
		return fn(cmd, args, c)
	}
}

// revokeCmd is `ninja X revoke ID`: DELETE pathPrefix+ID.
func revokeCmd(g *globalFlags, short, pathPrefix string) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: withClient(g, func(cmd *cobra.Command, args []string, c *apiClient) error {
			if err := c.do(cmd.Context(), "DELETE", pathPrefix+args[0], nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", args[0])
			return nil
		}),
	}
}

// handlerTransport serves requests with an in-process handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// do sends a JSON request and decodes a JSON answer into out; API errors
// come back as errors carrying the server's reason and details.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if c.account != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		u += sep + "account=" + url.QueryEscape(c.account)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeResponse(resp, out)
}

func decodeResponse(resp *http.Response, out any) error {
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Reason, Details string } `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Reason != "" {
			return fmt.Errorf("%s (%d): %s", e.Error.Reason, resp.StatusCode, e.Error.Details)
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	if out == nil {
		return nil
	}
	if p, ok := out.(*json.RawMessage); ok {
		*p = raw
		return nil
	}
	return json.Unmarshal(raw, out)
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
