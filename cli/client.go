package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/server"
	"github.com/ninja-ipfs/ninja/store"
)

// apiClient is how client commands reach a ninja: a remote server over
// HTTP with an API key (--server), the local server through its admin
// socket, or, when no server runs, the data directory opened in-process
// and served by the same admin handler. All three speak the same HTTP
// API, so every command has one code path.
type apiClient struct {
	base    string
	apiKey  string
	account string
	remote  bool
	hc      *http.Client
	close   func()
}

// connect picks the transport as described on apiClient.
func connect(ctx context.Context, g *globalFlags) (*apiClient, error) {
	c := &apiClient{account: g.account, close: func() {}}
	if g.server != "" {
		if g.apiKey == "" {
			return nil, errors.New("--server needs --api-key (or NINJA_API_KEY)")
		}
		c.base = strings.TrimRight(g.server, "/")
		c.apiKey = g.apiKey
		c.remote = true
		c.hc = &http.Client{}
		return c, nil
	}
	sock := app.Layout{Dir: g.dataDir}.Socket()
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
	a, err := app.Open(ctx, app.Options{DataDir: g.dataDir, Server: serverConfig()})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w, and its admin socket %s does not answer", err, sock)
	}
	if err != nil {
		return nil, err
	}
	c.base = "http://ninja"
	c.hc = &http.Client{Transport: handlerTransport{a.Server.AdminHandler()}}
	c.close = func() { a.Close(context.WithoutCancel(ctx)) }
	return c, nil
}

// serverConfig is the server configuration of an in-process admin server.
func serverConfig() server.Config { return server.Config{Version: Version().Version} }

// withClient is a command's RunE that connects first and closes after.
func withClient(g *globalFlags, fn func(cmd *cobra.Command, args []string, c *apiClient) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := connect(cmd.Context(), g)
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
			if err := c.do(cmd.Context(), "DELETE", pathPrefix+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", args[0])
			return nil
		}),
	}
}

// handlerTransport serves requests with an in-process handler, streaming
// the response through a pipe (an export is not held in memory).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	w := &pipeResponse{header: http.Header{}, body: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			// A handler that aborts its response midway (http.ErrAbortHandler)
			// leaves the reader with an error, as a cut connection would.
			if v := recover(); v != nil {
				w.WriteHeader(http.StatusInternalServerError)
				pw.CloseWithError(fmt.Errorf("response aborted: %v", v))
				return
			}
			w.WriteHeader(http.StatusOK) // a handler that wrote nothing
			pw.Close()
		}()
		t.h.ServeHTTP(w, r)
	}()
	<-w.ready
	return &http.Response{StatusCode: w.status, Header: w.header, Body: pr, Request: r,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

// pipeResponse is an http.ResponseWriter whose body is a pipe.
type pipeResponse struct {
	header http.Header
	body   *io.PipeWriter
	status int
	ready  chan struct{}
}

func (w *pipeResponse) Header() http.Header { return w.header }

func (w *pipeResponse) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	close(w.ready)
}

func (w *pipeResponse) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// request builds a request to path (with the client's account), authorised
// by its API key.
func (c *apiClient) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
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
		return nil, err
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	return req, nil
}

// do sends in as JSON and decodes a JSON answer into out (nil: ignore it);
// API errors come back as *apiError.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeResponse(resp, out)
}

// listAll fetches every page of a list endpoint (following X-Next-Cursor)
// into one slice.
func listAll[T any](ctx context.Context, c *apiClient, path string) ([]T, error) {
	var all []T
	cursor := ""
	for {
		p := path
		if cursor != "" {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			p += sep + "cursor=" + url.QueryEscape(cursor)
		}
		req, err := c.request(ctx, "GET", p, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, err
		}
		var page []T
		err = decodeResponse(resp, &page)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if cursor = resp.Header.Get("X-Next-Cursor"); cursor == "" {
			return all, nil
		}
	}
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Reason  string
	Details string
}

func (e *apiError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Details)
	}
	return fmt.Sprintf("%s (%d): %s", e.Reason, e.Status, e.Details)
}

func decodeResponse(resp *http.Response, out any) error {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e api.ErrorBody
		if json.Unmarshal(raw, &e) == nil && e.Error.Reason != "" {
			return &apiError{Status: resp.StatusCode, Reason: e.Error.Reason, Details: e.Error.Details}
		}
		return &apiError{Status: resp.StatusCode, Details: strings.TrimSpace(string(raw))}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s response: %w", resp.Request.URL.Path, err)
	}
	return nil
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
