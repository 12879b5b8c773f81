package server_test

import (
	"strconv"
	"testing"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
)

func withRateLimits(r pinning.RateLimits) envOption {
	return func(o *app.Options) { o.RateLimits = r }
}

// slow is a bucket that refills once every 100 s: a test never sees it refill.
func slow(burst int) pinning.Rate { return pinning.Rate{PerSecond: 0.01, Burst: burst} }

func TestRateLimitsRefuseWith429AndRetryAfterAndWriteNothing(t *testing.T) {
	t.Run("uploads per credential", func(t *testing.T) {
		e := newEnv(t, withRateLimits(pinning.RateLimits{UploadsPerCredential: slow(2)}))
		tok := e.newToken(map[string]any{"maxUploads": 10})
		for i := range 2 {
			if r := e.tokenUpload(tok["token"].(string), "a.txt", []byte{byte(i)}, nil); r.status != 200 {
				t.Fatalf("upload %d within the burst: %d %s", i, r.status, r.body)
			}
		}
		r := e.tokenUpload(tok["token"].(string), "a.txt", []byte("third"), nil)
		assertRateLimited(t, r)
		// Another credential is not limited by this one's bucket.
		if r := e.upload(e.key, "", nil, filePart{name: "b.txt", data: []byte("other credential")}); r.status != 200 {
			t.Fatalf("another credential's upload: %d %s", r.status, r.body)
		}
		if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 3 {
			t.Errorf("%d pins, want 3: the refused upload wrote one", n)
		}
		if rec := e.tokenRecord(tok["tokenId"].(string)); rec.UseCount != 2 {
			t.Errorf("useCount %d after a refused upload, want 2", rec.UseCount)
		}
	})
	t.Run("uploads per address", func(t *testing.T) {
		e := newEnv(t, withRateLimits(pinning.RateLimits{UploadsPerAddress: slow(1)}))
		if r := e.upload(e.key, "", nil, filePart{name: "a.txt", data: []byte("a")}); r.status != 200 {
			t.Fatal(r.status)
		}
		assertRateLimited(t, e.upload(e.admin, "", nil, filePart{name: "b.txt", data: []byte("b")}))
	})
	t.Run("credentials issued per key", func(t *testing.T) {
		e := newEnv(t, withRateLimits(pinning.RateLimits{MintsPerKey: slow(2)}))
		e.newToken(map[string]any{})
		if r := e.postJSON("/auth/jwt", e.key, map[string]any{"scopes": []string{"pins:read"}}); r.status != 201 {
			t.Fatalf("access JWT within the burst: %d %s", r.status, r.body)
		}
		assertRateLimited(t, e.postJSON("/upload-tokens", e.key, map[string]any{}))
	})
	t.Run("failed authentications per address", func(t *testing.T) {
		e := newEnv(t, withRateLimits(pinning.RateLimits{AuthFailuresPerAddress: slow(3)}))
		bad := "bws_" + "a" // malformed: fails without a lookup
		for i := range 3 {
			if r := e.get("/upload/list", bad); r.status != 401 {
				t.Fatalf("failure %d: %d, want 401", i, r.status)
			}
		}
		assertRateLimited(t, e.get("/upload/list", bad))
		// Past the limit the address is refused before any lookup, even
		// with a good key: a guesser cannot tell a hit from a miss.
		assertRateLimited(t, e.get("/upload/list", e.key))
	})
}

func assertRateLimited(t *testing.T, r response) {
	t.Helper()
	if r.status != 429 || r.reason(t) != "RATE_LIMITED" {
		t.Fatalf("got %d %s, want 429 RATE_LIMITED", r.status, r.body)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q, want whole seconds", r.header.Get("Retry-After"))
	}
}
