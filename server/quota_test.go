package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
)

func (e *env) setQuota(t *testing.T, body map[string]any) {
	t.Helper()
	b := mustJSON(body)
	r := e.do("PUT", "/admin/accounts/"+e.acct.Name+"/quota", map[string]string{"X-Api-Key": e.admin, "Content-Type": "application/json"}, strings.NewReader(b))
	if r.status != 200 {
		t.Fatalf("set quota %s: %d %s", b, r.status, r.body)
	}
}

func TestQuotasRefuseWithInsufficientFundsAndWriteNothing(t *testing.T) {
	t.Run("pins", func(t *testing.T) {
		e := newEnv(t)
		e.setQuota(t, map[string]any{"maxPins": 2})
		e.uploadCID(e.key, []byte("one"))
		e.uploadCID(e.key, []byte("two"))
		r := e.upload(e.key, "", nil, filePart{name: "three.txt", data: []byte("three")})
		if r.status != 409 || r.reason(t) != "INSUFFICIENT_FUNDS" || !strings.Contains(string(r.body), "pins") {
			t.Fatalf("a third pin over a quota of 2: %d %s", r.status, r.body)
		}
		if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 2 {
			t.Fatalf("%d pins, want 2", n)
		}
	})
	t.Run("stored bytes, each CID once", func(t *testing.T) {
		e := newEnv(t)
		e.setQuota(t, map[string]any{"maxStoredBytes": "1KiB"})
		data := []byte(strings.Repeat("x", 800))
		e.uploadCID(e.key, data)
		e.uploadCID(e.key, data) // the same CID again costs nothing
		r := e.upload(e.key, "", nil, filePart{name: "more.txt", data: []byte(strings.Repeat("y", 400))})
		if r.status != 409 || r.reason(t) != "INSUFFICIENT_FUNDS" || !strings.Contains(string(r.body), "stored bytes") {
			t.Fatalf("400 more bytes over a 1 KiB quota holding 800: %d %s", r.status, r.body)
		}
	})
	t.Run("queued pin-by-CID requests", func(t *testing.T) {
		e := newEnv(t, withFetch(pinning.FetchConfig{Timeout: time.Minute, MaxPerAccount: 1}))
		e.setQuota(t, map[string]any{"maxQueued": 1})
		peer := newPeer(t) // never dialled: requests stay pending
		first := addFile(t, peer, []byte("first"))
		if r := e.psaAdd(e.key, map[string]any{"cid": first.String()}); r.status != 202 {
			t.Fatal(r.status)
		}
		second := addFile(t, peer, []byte("second"))
		r := e.psaAdd(e.key, map[string]any{"cid": second.String()})
		if r.status != 409 || r.reason(t) != "INSUFFICIENT_FUNDS" {
			t.Fatalf("a second queued request over a quota of 1: %d %s", r.status, r.body)
		}
	})
	t.Run("bytes one fetch may pull", func(t *testing.T) {
		e := newEnv(t, withFetch(pinning.FetchConfig{Timeout: 20 * time.Second}))
		e.setQuota(t, map[string]any{"maxFetchBytes": "1MiB"})
		peer := newPeer(t)
		c := addFile(t, peer, fixtureBytes(7, 3<<20))
		id := e.psaAdd(e.key, map[string]any{"cid": c.String(), "origins": peer.Addrs()}).json(t)["requestid"].(string)
		m := e.waitStatus(e.key, id, 20*time.Second)
		info, _ := m["info"].(map[string]any)
		if m["status"] != "failed" || !strings.Contains(fmt.Sprint(info["status_details"]), "quota") {
			t.Fatalf("a 3 MiB fetch over a 1 MiB quota ended %v: %v", m["status"], info)
		}
	})
}

func TestTheOperatorSeesAndSetsQuotas(t *testing.T) {
	e := newEnv(t)
	e.uploadCID(e.key, []byte("counted"))
	r := e.get("/admin/accounts/"+e.acct.Name+"/quota", e.admin)
	m := r.json(t)
	usage := m["usage"].(map[string]any)
	if r.status != 200 || usage["pins"] != float64(1) || usage["bytes"] != float64(7) {
		t.Fatalf("GET quota: %d %s", r.status, r.body)
	}
	if r := e.get("/admin/accounts/"+e.acct.Name+"/quota", e.key); r.status != 403 {
		t.Fatalf("a non-admin key reading quotas: %d", r.status)
	}
	for _, bad := range []string{`{"maxPins":"lots"}`, `{"maxStoredBytes":"ten gigs"}`, `{"maxPins":-5}`} {
		r := e.do("PUT", "/admin/accounts/"+e.acct.Name+"/quota", map[string]string{"X-Api-Key": e.admin}, strings.NewReader(bad))
		if r.status != 400 {
			t.Errorf("quota %s: %d %s, want 400", bad, r.status, r.body)
		}
	}
	e.setQuota(t, map[string]any{"maxPins": "unlimited", "maxStoredBytes": "2GiB"})
	m = e.get("/admin/accounts/"+e.acct.Name+"/quota", e.admin).json(t)
	if ov := m["override"].(map[string]any); ov["maxPins"] != float64(-1) || ov["maxStoredBytes"] != float64(2<<30) {
		t.Fatalf("override after set: %v", ov)
	}
}

func TestCredentialListsArePagedWithACursor(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.newToken(map[string]any{"name": fmt.Sprint("t", i)})
	}
	var names []string
	path := "/signed-tokens?limit=2"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("the cursor never ends")
		}
		r := e.get(path, e.key)
		var page []map[string]any
		if err := jsonUnmarshal(r.body, &page); err != nil || r.status != 200 || len(page) > 2 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		for _, tok := range page {
			names = append(names, tok["tokenName"].(string))
		}
		path = ""
		if next := r.header.Get("X-Next-Cursor"); next != "" {
			if !strings.Contains(r.header.Get("Link"), `rel="next"`) {
				t.Fatalf("no Link header with the cursor: %v", r.header)
			}
			path = "/signed-tokens?limit=2&cursor=" + next
		}
	}
	if strings.Join(names, ",") != "t4,t3,t2,t1,t0" {
		t.Fatalf("pages gave %v, want every token newest first once", names)
	}
	if r := e.get("/signed-tokens?cursor=garbage", e.key); r.status != 400 {
		t.Fatalf("a bad cursor: %d %s", r.status, r.body)
	}
	if r := e.get("/admin/keys?limit=1", e.admin); r.header.Get("X-Next-Cursor") == "" {
		t.Fatal("GET /admin/keys is not paged")
	}
	_ = http.StatusOK
}

// TestAnUploadTokenMintedByAnAccessJWTDiesWithItAndSharesItsUses.
func TestAnUploadTokenMintedByAnAccessJWTDiesWithItAndSharesItsUses(t *testing.T) {
	e := newEnv(t)
	mint := func(maxUses int) (jwt, jti string) {
		m := e.postJSON("/auth/jwt", e.key, map[string]any{"scopes": []string{"upload", "tokens:write"}, "maxUses": maxUses}).json(t)
		return m["token"].(string), m["jti"].(string)
	}
	bearerPost := func(path, cred string, body any) response {
		return e.do("POST", path, map[string]string{"Authorization": "Bearer " + cred, "Content-Type": "application/json"}, strings.NewReader(mustJSON(body)))
	}
	jwt, jti := mint(0)
	tok := bearerPost("/upload-tokens", jwt, map[string]any{"maxUploads": 10})
	if tok.status != 201 {
		t.Fatalf("an access JWT minting an upload token: %d %s", tok.status, tok.body)
	}
	tokSecret := tok.json(t)["token"].(string)
	if r := e.tokenUpload(tokSecret, "a.txt", []byte("a"), nil); r.status != 200 {
		t.Fatalf("the child token before the revocation: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/auth/jwt/"+jti, map[string]string{"X-Api-Key": e.key}, nil); r.status != 200 {
		t.Fatal(r.status)
	}
	if r := e.tokenUpload(tokSecret, "b.txt", []byte("b"), nil); r.status != 401 || r.reason(t) != "TOKEN_REVOKED" {
		t.Fatalf("the child token after its JWT was revoked: %d %s, want 401 TOKEN_REVOKED", r.status, r.body)
	}

	// maxUses 3: the mint is one use, two more requests remain between the
	// JWT and every token it minted.
	jwt, _ = mint(3)
	tokSecret = bearerPost("/upload-tokens", jwt, map[string]any{"maxUploads": 10}).json(t)["token"].(string)
	ok := 0
	for i := range 5 {
		if r := e.tokenUpload(tokSecret, "c.txt", []byte{byte(i)}, nil); r.status == 200 {
			ok++
		} else if r.reason(t) != "TOKEN_EXHAUSTED" {
			t.Fatalf("upload %d: %d %s", i, r.status, r.body)
		}
	}
	if ok != 2 {
		t.Fatalf("%d of 5 uploads with a token minted by a JWT with 2 uses left, want 2", ok)
	}
}
