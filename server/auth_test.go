package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

func TestCredentialsAreCheckedOnEveryRequest(t *testing.T) {
	e := newEnv(t)
	readOnly := e.mintKey(e.acct.ID, token.ScopePinsRead)
	revoked := e.mintKey(e.acct.ID, token.ScopeUpload)
	keys, _ := e.store.APIKeys(e.acct.ID)
	if _, err := e.store.RevokeAPIKey("", keys[len(keys)-1].ID); err != nil {
		t.Fatal(err)
	}
	body := `{"content":{"a":1}}`
	cases := []struct {
		name       string
		headers    map[string]string
		wantStatus int
		wantReason string
	}{
		{"no credential is 401", nil, 401, "UNAUTHORIZED"},
		{"a malformed key is 401", map[string]string{"X-Api-Key": "bws_nope"}, 401, "UNAUTHORIZED"},
		{"a well-formed unknown key is 401", map[string]string{"X-Api-Key": mutate(e.key)}, 401, "UNAUTHORIZED"},
		{"a revoked key is 401", map[string]string{"X-Api-Key": revoked}, 401, "UNAUTHORIZED"},
		{"a key without the upload scope is 403", map[string]string{"X-Api-Key": readOnly}, 403, "FORBIDDEN"},
		{"an unknown scheme is 401", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, 401, "UNAUTHORIZED"},
		{"X-Api-Key works", map[string]string{"X-Api-Key": e.key}, 200, ""},
		{"Bearer works", map[string]string{"Authorization": "Bearer " + e.key}, 200, ""},
		{"an admin key may do everything", map[string]string{"Authorization": "Bearer " + e.admin}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Content-Type": "application/json"}
			for k, v := range tc.headers {
				h[k] = v
			}
			resp := e.do("POST", "/upload/new", h, strings.NewReader(body))
			if resp.status != tc.wantStatus {
				t.Fatalf("status %d %s, want %d", resp.status, resp.body, tc.wantStatus)
			}
			if tc.wantReason != "" && resp.reason(t) != tc.wantReason {
				t.Fatalf("reason %s, want %s", resp.reason(t), tc.wantReason)
			}
		})
	}
}

// mutate changes one character in the random part of a credential so that
// its checksum fails (it must be refused without any lookup).
func mutate(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'a' {
		b[i] = 'b'
	} else {
		b[i] = 'a'
	}
	return string(b)
}

func TestAccountsNeverSeeEachOthersPins(t *testing.T) {
	e := newEnv(t)
	other, err := e.store.CreateAccount("other")
	if err != nil {
		t.Fatal(err)
	}
	otherKey := e.mintKey(other.ID, token.ScopeUpload, token.ScopePinsRead)
	resp := e.postJSON("/upload/new", e.key, map[string]any{"content": map[string]any{"secret": "of default"}})
	c := resp.json(t)["cid"].(string)

	if st := e.get("/pins/"+c, otherKey).json(t); st["pinned"] != false {
		t.Fatalf("another account sees the pin: %v", st)
	}
	if st := e.get("/pin/"+c, e.key).json(t); st["pinned"] != true || st["created"] == nil || st["pinnedSince"] == nil {
		t.Fatalf("the owner does not see its pin with its date: %v", st)
	}
	list := e.get("/upload/list", otherKey).json(t)
	if list["count"] != float64(0) {
		t.Fatalf("another account lists %v uploads", list["count"])
	}
	list = e.get("/upload/list", e.key).json(t)
	if list["count"] != float64(1) {
		t.Fatalf("the owner lists %v uploads, want 1", list["count"])
	}
}

func TestPinStatusOfAnInvalidCIDIs400(t *testing.T) {
	e := newEnv(t)
	resp := e.get("/pins/not-a-cid", e.key)
	if resp.status != 400 || resp.reason(t) != "INVALID_CID" {
		t.Fatalf("got %d %s", resp.status, resp.body)
	}
}

func TestAdminAPIManagesKeysUnderScopeAdmin(t *testing.T) {
	e := newEnv(t)
	// A non-admin key is refused.
	if resp := e.postJSON("/admin/keys", e.key, map[string]any{"name": "x"}); resp.status != 403 {
		t.Fatalf("non-admin key creating keys: %d %s", resp.status, resp.body)
	}
	resp := e.postJSON("/admin/keys", e.admin, map[string]any{"name": "ci", "scopes": []string{"upload"}})
	if resp.status != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.status, resp.body)
	}
	k := resp.json(t)
	secret := k["key"].(string)
	if !strings.HasPrefix(secret, "bws_") {
		t.Fatalf("key %q lacks the bws_ prefix", secret)
	}
	// The new key uploads, and the secret is in no listing.
	if r := e.postJSON("/upload/new", secret, map[string]any{"content": []int{1}}); r.status != 200 {
		t.Fatalf("new key cannot upload: %d %s", r.status, r.body)
	}
	list := e.get("/admin/keys", e.admin)
	if strings.Contains(string(list.body), secret) {
		t.Fatal("the key listing contains a secret")
	}
	if r := e.do("DELETE", "/admin/keys/"+k["id"].(string), map[string]string{"X-Api-Key": e.admin}, nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.postJSON("/upload/new", secret, map[string]any{"content": []int{1}}); r.status != 401 {
		t.Fatalf("revoked key: %d %s, want 401", r.status, r.body)
	}
	// Stored is the keyed hash only.
	keys, _ := e.store.APIKeys(e.acct.ID)
	for _, sk := range keys {
		if strings.Contains(string(sk.Hash), secret) || sk.Prefix == secret {
			t.Fatal("a secret is stored in the clear")
		}
	}
	_ = store.ErrNotFound
}

func TestAdminStatusReportsTheNodeAndStorage(t *testing.T) {
	e := newEnv(t)
	e.upload(e.key, "", nil, filePart{name: "a.txt", data: []byte("twelve bytes")})
	st := e.get("/admin/status", e.admin).json(t)
	if st["peerId"] != e.node.PeerID() || len(st["addrs"].([]any)) == 0 {
		t.Fatalf("status: %v", st)
	}
	storage := st["storage"].(map[string]any)
	if storage["pins"] != float64(1) || storage["bytes"] != float64(12) {
		t.Fatalf("storage: %v", storage)
	}
}

func TestOnlyTheOperatorMayNameAnotherAccount(t *testing.T) {
	e := newEnv(t)
	other, _ := e.store.CreateAccount("other")
	otherKey := e.mintKey(other.ID, token.ScopeUpload, token.ScopePinsRead, token.ScopeTokensWrite, token.ScopeAnalyticsRead)
	e.newToken(map[string]any{"name": "default's token", "expiresIn": 600})
	for _, path := range []string{"/signed-tokens", "/analytics", "/upload-signing-keys", "/auth/jwt"} {
		r := e.get(path+"?account=default", otherKey)
		if r.status != 403 || strings.Contains(string(r.body), "default's token") {
			t.Errorf("%s?account=default with another account's key: %d %s, want 403", path, r.status, r.body)
		}
		if r := e.get(path+"?account=other", otherKey); r.status != 200 {
			t.Errorf("%s naming its own account: %d %s", path, r.status, r.body)
		}
	}
	if r := e.get("/signed-tokens?account=default", e.admin); r.status != 200 || !strings.Contains(string(r.body), "default's token") {
		t.Fatalf("the operator's admin key: %d %s", r.status, r.body)
	}
	// Every route honours ?account= for the operator or refuses it: an
	// upload into the other account, its pins listed, a token minted there.
	otherCID := e.uploadCID(otherKey, []byte("other's file"))
	for _, path := range []string{"/psa/pins?account=other", "/upload/list?account=other", "/pins/" + otherCID + "?account=other"} {
		if r := e.get(path, e.admin); r.status != 200 || !strings.Contains(string(r.body), otherCID) {
			t.Errorf("GET %s with the admin key: %d %s, want the other account's pin", path, r.status, r.body)
		}
		if r := e.get(path, e.key); r.status != 403 {
			t.Errorf("GET %s with a non-admin key of another account: %d, want 403", path, r.status)
		}
	}
	if r := e.postJSON("/upload-tokens?account=other", e.admin, map[string]any{"name": "minted for other"}); r.status != 201 {
		t.Fatalf("POST /upload-tokens?account=other with the admin key: %d %s", r.status, r.body)
	}
	if r := e.get("/signed-tokens", otherKey); !strings.Contains(string(r.body), "minted for other") {
		t.Errorf("the token the operator minted for account other is not other's: %s", r.body)
	}
	if r := e.get("/psa/pins?account=nobody", e.admin); r.status != 404 || r.reason(t) != "NOT_FOUND" {
		t.Errorf("?account= naming no account: %d %s", r.status, r.body)
	}
}

func TestUnknownRoutesAnswerInTheErrorShape(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		method, path string
		status       int
		reason       string
	}{
		{"GET", "/nonexistent", 404, "NOT_FOUND"},
		{"GET", "/psa/nope", 404, "NOT_FOUND"},
		{"PUT", "/psa/pins", 405, "METHOD_NOT_ALLOWED"},
		{"PUT", "/upload/new", 405, "METHOD_NOT_ALLOWED"},
	}
	for _, c := range cases {
		r := e.do(c.method, c.path, map[string]string{"X-Api-Key": e.key}, nil)
		if r.status != c.status || r.reason(t) != c.reason || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s %q", c.method, c.path, r.status, r.body, r.header.Get("Content-Type"))
		}
	}
	if r := e.do("PUT", "/psa/pins", nil, nil); !strings.Contains(r.header.Get("Allow"), "GET") {
		t.Errorf("405 without its Allow header: %v", r.header)
	}
}

func TestAnEmptyScopeListIsAnErrorNotAFullKey(t *testing.T) {
	e := newEnv(t)
	r := e.postJSON("/admin/keys", e.admin, map[string]any{"name": "empty", "scopes": []string{}})
	if r.status != 400 || r.reason(t) != "BAD_REQUEST" || !strings.Contains(string(r.body), "scopes") {
		t.Fatalf(`"scopes": []: %d %s, want 400`, r.status, r.body)
	}
	for _, k := range e.get("/admin/keys", e.admin).jsonArray(t) {
		if k["name"] == "empty" {
			t.Fatal("a key was created from an empty scope list")
		}
	}
}

func TestAnUnparsableForwardedHopMakesTheClientUnknown(t *testing.T) {
	e := newEnv(t, withProxies("127.0.0.1/32"))
	// The whitelist holds the proxy's own network: a client address that
	// cannot be read must not pass as the proxy's.
	tok := e.newToken(map[string]any{"ipWhitelist": []string{"127.0.0.0/8"}})["token"].(string)
	for _, xff := range []string{"not-an-ip", "203.0.113.9, garbage", "127.0.0.1, , 127.0.0.1"} {
		r := e.tokenUpload(tok, "a.txt", []byte("x"), map[string]string{"X-Forwarded-For": xff})
		if r.status != 403 || r.reason(t) != "IP_NOT_ALLOWED" {
			t.Errorf("X-Forwarded-For %q through the trusted proxy: %d %s, want 403 IP_NOT_ALLOWED", xff, r.status, r.body)
		}
	}
	if r := e.tokenUpload(tok, "a.txt", []byte("x"), map[string]string{"X-Forwarded-For": "127.0.0.5"}); r.status != 200 {
		t.Errorf("a readable client address in the whitelist: %d %s", r.status, r.body)
	}
}
