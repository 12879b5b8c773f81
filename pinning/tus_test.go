package pinning

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// newResumableService is a Service with resumable uploads and an API
// key's principal.
func newResumableService(t *testing.T) (*Service, Principal) {
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
		Fetch: FetchConfig{Disabled: true}, Resumable: ResumableConfig{Dir: filepath.Join(dir, "tus")}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		s.Close(ctx)
		nd.Close(ctx)
		st.Close(ctx)
	})
	a, _ := st.CreateAccount("test")
	k, err := st.CreateAPIKey(store.APIKey{AccountID: a.ID, Name: "k", Hash: []byte("h"), Scopes: []string{"upload"}})
	if err != nil {
		t.Fatal(err)
	}
	return s, Principal{Grant: token.Grant{Kind: token.KindAPIKey, AccountID: a.ID, IssuerKeyID: k.ID, CredentialID: k.ID,
		Scopes: []token.Scope{token.ScopeUpload}}}
}

func TestUploadsPastTheFollowersBoundArePinnedAllTheSame(t *testing.T) {
	s, p := newResumableService(t)
	ctx := context.Background()
	// testdata/node/cids.json: seed 7, 1 MiB + 1 byte.
	const want = "bafybeibvwlmmzbw63a6vzy7tbea2mwv3ytabb3ju6drs4gu375qq4mcjpi"
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], 7)
	data := make([]byte, 1<<20+1)
	rand.NewChaCha8(key).Read(data)

	ids := make([]string, maxFollowers+2)
	half := int64(len(data) / 2)
	for i := range ids {
		r, err := s.CreateResumable(ctx, p, ResumableSpec{Length: int64(len(data))})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = r.ID
		if n, err := s.WriteResumable(ctx, p, r.ID, 0, bytes.NewReader(data[:half]), nil); err != nil || n != half {
			t.Fatalf("first half of upload %d: %d, %v", i, n, err)
		}
	}
	s.tus.mu.Lock()
	followed := len(s.tus.followers)
	s.tus.mu.Unlock()
	if followed != maxFollowers {
		t.Fatalf("%d uploads followed, want the bound, %d", followed, maxFollowers)
	}
	for i, id := range ids {
		if _, err := s.WriteResumable(ctx, p, id, half, bytes.NewReader(data[half:]), nil); err != nil {
			t.Fatal(err)
		}
		pin, err := s.FinishResumable(ctx, p, id)
		if err != nil || pin.CID != want {
			t.Fatalf("upload %d: %s, %v; want Kubo's %s", i, pin.CID, err, want)
		}
		if again, err := s.FinishResumable(ctx, p, id); err != nil || again.ID != pin.ID {
			t.Fatalf("finishing upload %d again: %+v, %v; want its pin %s", i, again, err, pin.ID)
		}
	}
	if len(s.tus.followers) != 0 {
		t.Fatalf("%d followers left after every upload was pinned", len(s.tus.followers))
	}
}
