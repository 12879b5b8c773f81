// Package cluster is a small client of the IPFS Cluster REST API (checked
// against ipfs-cluster v1.1.6's api/rest and api/rest/client): pin and
// unpin a CID, read its status across the Cluster's peers, list the pin
// set (GET /allocations) and the peer's identity (GET /id). It speaks
// net/http and JSON only, so ninja does not take on the Cluster's module
// and its dependencies; the domain (pinning/) declares the interface it
// consumes and app/ wires this client in.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound is a CID the Cluster's pin set does not hold.
var ErrNotFound = errors.New("not in the cluster's pin set")

// StatusError is an answer of the Cluster's other than 2xx (the Cluster
// is up and said no); any other error means it was not reached.
type StatusError struct {
	Method, Path string
	Code         int
	Message      string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("cluster %s %s: %d %s: %s", e.Method, e.Path, e.Code, http.StatusText(e.Code), e.Message)
}

// Is makes a 404 ErrNotFound.
func (e *StatusError) Is(target error) bool {
	return target == ErrNotFound && e.Code == http.StatusNotFound
}

// Config configures a Client.
type Config struct {
	// API is the REST API's base URL, e.g. http://127.0.0.1:9094.
	API string
	// Username and Password are the REST API's basic_auth_credentials;
	// Token a bearer token (from POST /token). Either, or neither.
	Username, Password, Token string
	// Timeout bounds one call; zero means 30s.
	Timeout time.Duration
	// HTTP is the transport; nil means a client of its own.
	HTTP *http.Client
}

// Client calls one Cluster peer's REST API. It is safe for concurrent use.
type Client struct {
	base *url.URL
	cfg  Config
	http *http.Client
}

// New checks the configuration and returns a client; it makes no call.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.API, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cluster api %q: want an http:// or https:// URL", cfg.API)
	}
	if cfg.Token != "" && cfg.Username != "" {
		return nil, fmt.Errorf("cluster api: give a username and password or a token, not both")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return &Client{base: u, cfg: cfg, http: hc}, nil
}

// Close releases idle connections.
func (c *Client) Close(context.Context) error {
	c.http.CloseIdleConnections()
	return nil
}

// PinOptions are a pin's Cluster options.
type PinOptions struct {
	ReplicationMin, ReplicationMax int // 0: the Cluster's defaults
	Name                           string
	Origins                        []string          // multiaddrs the peers fetch from
	Metadata                       map[string]string // meta-KEY=VALUE
}

// query encodes opts as PinOptions.ToQuery does.
func (o PinOptions) query() url.Values {
	q := url.Values{}
	if o.ReplicationMin != 0 || o.ReplicationMax != 0 {
		q.Set("replication-min", strconv.Itoa(o.ReplicationMin))
		q.Set("replication-max", strconv.Itoa(o.ReplicationMax))
	}
	if o.Name != "" {
		q.Set("name", o.Name)
	}
	for k, v := range o.Metadata {
		if k != "" {
			q.Set("meta-"+k, v)
		}
	}
	if len(o.Origins) > 0 {
		q.Set("origins", strings.Join(o.Origins, ","))
	}
	return q
}

// Pin is an entry of the Cluster's pin set (api.Pin, the fields ninja reads).
type Pin struct {
	CID         string            `json:"cid"`
	Name        string            `json:"name"`
	Allocations []string          `json:"allocations"`
	Metadata    map[string]string `json:"metadata"`
	ReplMin     int               `json:"replication_factor_min"`
	ReplMax     int               `json:"replication_factor_max"`
}

// PeerStatus is one peer's state of a CID (api.PinInfoShort).
type PeerStatus struct {
	PeerName string   `json:"peername"`
	IPFS     string   `json:"ipfs_peer_id"`
	IPFSAddr []string `json:"ipfs_peer_addresses"` // the peer's IPFS daemon's swarm addresses
	Status   string   `json:"status"`              // pinned, pinning, pin_queued, remote, pin_error, …
	Error    string   `json:"error"`
}

// Status is a CID's state on every peer (api.GlobalPinInfo).
type Status struct {
	CID         string                `json:"cid"`
	Name        string                `json:"name"`
	Allocations []string              `json:"allocations"`
	Metadata    map[string]string     `json:"metadata"`
	PeerMap     map[string]PeerStatus `json:"peer_map"`
}

// Pinned returns the peers (by cluster peer id) that report the CID
// pinned, sorted.
func (s Status) Pinned() []string {
	var out []string
	for id, p := range s.PeerMap {
		if p.Status == "pinned" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// ID is a peer's identity (api.ID, the fields ninja reads).
type ID struct {
	ID        string   `json:"id"`
	PeerName  string   `json:"peername"`
	Addresses []string `json:"addresses"`
	Peers     []string `json:"cluster_peers"`
	IPFS      struct {
		ID        string   `json:"id"`
		Addresses []string `json:"addresses"`
	} `json:"ipfs"`
	Error string `json:"error"`
}

// Pin adds cid to the Cluster's pin set (POST /pins/{cid}); pinning a CID
// it holds already updates its options.
func (c *Client) Pin(ctx context.Context, cid string, opts PinOptions) (Pin, error) {
	var p Pin
	err := c.do(ctx, http.MethodPost, "/pins/"+url.PathEscape(cid), opts.query(), &p)
	return p, err
}

// Unpin removes cid from the pin set (DELETE /pins/{cid}); a CID it does
// not hold is ErrNotFound.
func (c *Client) Unpin(ctx context.Context, cid string) error {
	return c.do(ctx, http.MethodDelete, "/pins/"+url.PathEscape(cid), nil, nil)
}

// Status reads cid's state on every peer (GET /pins/{cid}).
func (c *Client) Status(ctx context.Context, cid string) (Status, error) {
	var s Status
	err := c.do(ctx, http.MethodGet, "/pins/"+url.PathEscape(cid), nil, &s)
	return s, err
}

// Allocations calls fn with every pin of the pin set (GET /allocations,
// a stream of JSON objects).
func (c *Client) Allocations(ctx context.Context, fn func(Pin) error) error {
	return stream(c, ctx, "/allocations", url.Values{"filter": {"pin"}}, fn)
}

// stream decodes a streamed answer (JSON objects back to back, errors in
// the X-Stream-Error trailer) into fn.
func stream[T any](c *Client, ctx context.Context, path string, q url.Values, fn func(T) error) error {
	resp, err := c.send(ctx, http.MethodGet, path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var v T
		if err := dec.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("cluster GET %s: %w", path, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if e := resp.Trailer.Get("X-Stream-Error"); e != "" {
		return fmt.Errorf("cluster GET %s: %s", path, e)
	}
	return nil
}

// StatusAll calls fn with the status of every pin of the pin set (GET
// /pins, a stream of JSON objects).
func (c *Client) StatusAll(ctx context.Context, fn func(Status) error) error {
	return stream(c, ctx, "/pins", nil, fn)
}

// ID reads the peer's identity (GET /id).
func (c *Client) ID(ctx context.Context) (ID, error) {
	var id ID
	err := c.do(ctx, http.MethodGet, "/id", nil, &id)
	return id, err
}

// apiError is the REST API's error body (api.Error).
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (c *Client) send(ctx context.Context, method, path string, q url.Values) (*http.Response, error) {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	switch {
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	case c.cfg.Username != "":
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cluster %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var e apiError
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			msg = e.Message
		}
		return nil, &StatusError{Method: method, Path: path, Code: resp.StatusCode, Message: msg}
	}
	return resp, nil
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	resp, err := c.send(ctx, method, path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("cluster %s %s: decode: %w", method, path, err)
	}
	return nil
}
