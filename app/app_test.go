package app

import (
	"context"
	"os"
	"testing"

	"github.com/ninja-ipfs/ninja/node"
)

func TestTheIdentityAndSecretsPersistAcrossRestartsWithMode0600(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func() *App {
		a, err := Open(ctx, Options{DataDir: dir, Create: true, Network: true,
			Node: node.Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Offline: true}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := open()
	id, kid := a.Node.PeerID(), a.Signer.KeyID()
	a.Close(ctx)
	b := open()
	defer b.Close(ctx)
	if b.Node.PeerID() != id || b.Signer.KeyID() != kid {
		t.Fatalf("after a restart: peer %s (was %s), jwt kid %s (was %s)", b.Node.PeerID(), id, b.Signer.KeyID(), kid)
	}
	l := Layout{Dir: dir}
	for _, f := range []string{l.Identity(), l.Secret(), l.JWTKey()} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
}

func TestAClientNeverCreatesADataDirectory(t *testing.T) {
	dir := t.TempDir() + "/typo"
	if _, err := Open(context.Background(), Options{DataDir: dir}); err == nil {
		t.Fatal("opening a missing data directory without Create succeeded")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a client open created %s", dir)
	}
}
