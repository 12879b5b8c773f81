package pinning

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// newTestService is a Service over a real store and a network-less node in
// a temporary directory, with one account and an admin key's grant.
func newTestService(t testing.TB) (*Service, *store.Store, store.Account) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "ninja.db"), store.Options{EventFlushInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	nd, err := node.New(context.Background(), node.Config{DataDir: dir, NoNetwork: true, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Store: st, Node: nd, Hasher: token.NewHasher(bytes.Repeat([]byte{1}, 32)),
		Fetch: FetchConfig{Disabled: true}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		s.Close(ctx)
		nd.Close(ctx)
		st.Close(ctx)
	})
	a, err := st.CreateAccount("test")
	if err != nil {
		t.Fatal(err)
	}
	return s, st, a
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
