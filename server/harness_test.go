package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/server"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// env is a real ninja (store, offline node on loopback, domain, server)
// opened on a temporary data directory by the same wiring `ninja serve`
// uses, behind an httptest server.
type env struct {
	t      *testing.T
	dir    string
	opts   app.Options
	app    *app.App
	srv    *server.Server
	svc    *pinning.Service
	http   *httptest.Server
	store  *store.Store
	node   *node.Node
	hasher *token.Hasher
	signer *token.Signer
	acct   store.Account
	admin  string // admin-scoped API key of acct
	key    string // API key of acct with the default (non-admin) scopes
	now    time.Time
}

// envOption changes the wiring's options before the env opens.
type envOption func(*app.Options)

func withPublicURL(u string) envOption { return func(o *app.Options) { o.Server.PublicURL = u } }
func withMaxUpload(n int64) envOption  { return func(o *app.Options) { o.MaxUploadBytes = n } }
func withFetch(f pinning.FetchConfig) envOption {
	return func(o *app.Options) { o.Fetch = f }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), now: time.Now()}
	e.opts = app.Options{
		DataDir: e.dir, Create: true, Network: true,
		Node:   node.Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Offline: true, AllowPrivatePeers: true},
		Fetch:  pinning.FetchConfig{Timeout: 20 * time.Second},
		Store:  store.Options{EventFlushInterval: 50 * time.Millisecond},
		Logger: quietLogger(),
	}
	for _, o := range opts {
		o(&e.opts)
	}
	e.open()
	var err error
	e.acct, err = e.store.CreateAccount("default")
	if err != nil {
		t.Fatal(err)
	}
	e.admin = e.mintKey(e.acct.ID, token.ScopeAdmin)
	e.key = e.mintKey(e.acct.ID, pinning.DefaultKeyScopes()...)
	return e
}

// open opens the data directory and starts serving it.
func (e *env) open() {
	e.t.Helper()
	a, err := app.Open(context.Background(), e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.app, e.srv, e.svc, e.store, e.node, e.hasher, e.signer = a, a.Server, a.Service, a.Store, a.Node, a.Hasher, a.Signer
	e.http = httptest.NewServer(a.Server.Handler())
	h, closed := e.http, a
	e.t.Cleanup(func() {
		h.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		closed.Close(ctx)
	})
}

// restart closes the data directory as a shutdown would and opens it
// again; keys and records persist, the HTTP address changes.
func (e *env) restart() {
	e.t.Helper()
	e.http.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.app.Close(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

func (e *env) mintKey(accountID string, scopes ...token.Scope) string {
	e.t.Helper()
	secret, _, err := e.svc.CreateAPIKey(context.Background(), accountID, "test", scopes)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// reason is the error reason of a Pinning Service API error body.
func (r response) reason(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.body)
	}
	return e["reason"].(string)
}

func (e *env) do(method, path string, headers map[string]string, body io.Reader) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) postJSON(path, key string, v any) response {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do("POST", path, map[string]string{"X-Api-Key": key, "Content-Type": "application/json"}, bytes.NewReader(b))
}

func (e *env) get(path, key string) response {
	e.t.Helper()
	h := map[string]string{}
	if key != "" {
		h["Authorization"] = "Bearer " + key
	}
	return e.do("GET", path, h, nil)
}

// filePart is one file of a multipart upload.
type filePart struct {
	name string
	data []byte
	typ  string
}

// multipartBody builds a multipart upload: fields first, then files.
func multipartBody(t *testing.T, fields [][2]string, files ...filePart) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	for _, f := range files {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="file"; filename="` + f.name + `"`}
		typ := f.typ
		if typ == "" {
			typ = "application/octet-stream"
		}
		h["Content-Type"] = []string{typ}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func (e *env) upload(key string, query string, fields [][2]string, files ...filePart) response {
	e.t.Helper()
	ct, body := multipartBody(e.t, fields, files...)
	return e.do("POST", "/upload"+query, map[string]string{"Authorization": "Bearer " + key, "Content-Type": ct}, bytes.NewReader(body))
}

// fixtureBytes regenerates a fixture input: the first size bytes of the
// ChaCha8 stream keyed by seed (shared/fixtures/cids.md).
func fixtureBytes(seed uint64, size int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], seed)
	r := rand.NewChaCha8(key)
	b := make([]byte, size)
	r.Read(b)
	return b
}

// fixtures is testdata/node/cids.json.
type fixtures struct {
	Files []struct {
		Seed uint64 `json:"seed"`
		Size int    `json:"size"`
		V1   string `json:"v1"`
		V0   string `json:"v0"`
	} `json:"files"`
	Site struct {
		Files []struct {
			Path string `json:"path"`
			Seed uint64 `json:"seed"`
			Size int    `json:"size"`
			CID  string `json:"cid"`
		} `json:"files"`
		Sub       string `json:"sub"`
		Root      string `json:"root"`
		WrappedAB string `json:"wrappedAB"`
	} `json:"site"`
	JSON struct {
		Content string `json:"content"`
		V1      string `json:"v1"`
	} `json:"json"`
}

func loadFixtures(t *testing.T) fixtures {
	t.Helper()
	b, err := os.ReadFile("../testdata/node/cids.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixtures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func mustCID(t *testing.T, s string) cid.Cid {
	t.Helper()
	c, err := cid.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// flushEvents commits every analytics event now: the domain's summed
// gateway reads, then the store's queue.
func (e *env) flushEvents() {
	e.svc.FlushGatewayReads()
	e.store.FlushEvents()
}

// jsonArray decodes a JSON array of objects.
func (r response) jsonArray(t *testing.T) []map[string]any {
	t.Helper()
	var a []map[string]any
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("response is not a JSON array: %v: %s", err, r.body)
	}
	return a
}
