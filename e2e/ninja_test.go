//go:build e2e

package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/token"
)

// ninja is an in-process ninja opened by the same wiring as `ninja serve
// --offline`: real store, offline node on loopback, pin queue and HTTP
// server on 127.0.0.1.
type ninja struct {
	url   string
	key   string // upload, pins:read, pins:write
	admin string // scope admin
	acct  string // the account both keys belong to
	app   *app.App
	node  *node.Node
}

func startNinja(t *testing.T) *ninja { return startNinjaFetching(t, time.Minute) }

// startNinjaFetching is startNinja with a pin-by-CID fetch timeout, for
// tests that need a request to fail.
func startNinjaFetching(t *testing.T, fetchTimeout time.Duration) *ninja {
	t.Helper()
	return startNinjaWith(t, nil, func(o *app.Options) { o.Fetch = pinning.FetchConfig{Timeout: fetchTimeout} })
}

// startNinjaWith is startNinja with options changed by opt, serving on ln
// (nil: a new loopback listener), for a test that needs to know its port
// before the server is opened (gateway domains name it).
func startNinjaWith(t *testing.T, ln net.Listener, opt func(*app.Options)) *ninja {
	t.Helper()
	opts := app.Options{
		DataDir: t.TempDir(), Create: true, Network: true,
		Node:   node.Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Offline: true, AllowPrivatePeers: true},
		Fetch:  pinning.FetchConfig{Timeout: time.Minute},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if opt != nil {
		opt(&opts)
	}
	a, err := app.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(a.Server.Handler())
	if ln != nil {
		hs.Listener.Close()
		hs.Listener = ln
	}
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	ctx := context.Background()
	acct, err := a.Service.CreateAccount(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := a.Service.CreateAPIKey(ctx, acct.ID, "kubo", []token.Scope{token.ScopeUpload, token.ScopePinsRead, token.ScopePinsWrite})
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := a.Service.CreateAPIKey(ctx, acct.ID, "admin", []token.Scope{token.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return &ninja{url: hs.URL, key: key, admin: admin, acct: acct.ID, app: a, node: a.Node}
}
