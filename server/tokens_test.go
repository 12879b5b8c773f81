package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// clock is a test clock the server reads; tests move it forward.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func withClock(c *clock) envOption       { return func(o *app.Options) { o.Now = c.now } }
func withProxies(p ...string) envOption {
	return func(o *app.Options) {
		for _, s := range p {
			o.Server.TrustedProxies = append(o.Server.TrustedProxies, netip.MustParsePrefix(s))
		}
	}
}

// newToken asks for an upload token with the API key and returns the answer.
func (e *env) newToken(req map[string]any) map[string]any {
	e.t.Helper()
	resp := e.postJSON("/upload-tokens", e.key, req)
	if resp.status != http.StatusCreated {
		e.t.Fatalf("create token: %d %s", resp.status, resp.body)
	}
	return resp.json(e.t)
}

// tokenUpload posts one file with an upload token.
func (e *env) tokenUpload(tok string, name string, data []byte, headers map[string]string) response {
	e.t.Helper()
	ct, body := multipartBody(e.t, nil, filePart{name: name, data: data})
	h := map[string]string{"Authorization": "Signed " + tok, "Content-Type": ct}
	for k, v := range headers {
		h[k] = v
	}
	return e.do("POST", "/upload", h, bytes.NewReader(body))
}

func (e *env) tokenRecord(id string) store.Token {
	e.t.Helper()
	e.flushEvents()
	t, err := e.store.Token("", id)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func TestSignedURLSeedRequestWorksVerbatim(t *testing.T) {
	e := newEnv(t)
	before := time.Now()
	resp := e.do("POST", "/upload/signed-url", map[string]string{"X-Api-Key": e.key, "Content-Type": "application/json"},
		strings.NewReader(`{"name":"Mobile app","expiresIn":3600}`))
	if resp.status != http.StatusCreated {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	m := resp.json(t)
	tok, _ := m["token"].(string)
	if !strings.HasPrefix(tok, "sup_") || !strings.HasPrefix(m["tokenId"].(string), "tok_") {
		t.Fatalf("token %q, id %v", tok, m["tokenId"])
	}
	if got, want := m["tokenPrefix"], tok[:12]; got != want {
		t.Errorf("tokenPrefix = %v, want %v", got, want)
	}
	if m["tokenName"] != "Mobile app" {
		t.Errorf("tokenName = %v", m["tokenName"])
	}
	exp := time.UnixMilli(int64(m["expiresAt"].(float64)))
	if d := exp.Sub(before); d < 3599*time.Second || d > 3601*time.Second+time.Minute {
		t.Errorf("expiresAt is %v after the request, want one hour (milliseconds)", d)
	}
	// The upload with the token answers exactly like one with the key.
	fx := loadFixtures(t)
	f := fx.Files[2]
	up := e.tokenUpload(tok, "photo.bin", fixtureBytes(f.Seed, f.Size), nil)
	if up.status != 200 || up.json(t)["cid"] != f.V1 {
		t.Fatalf("upload with Signed token: %d %s", up.status, up.body)
	}
	// Bearer works too, on the JSON endpoint.
	r := e.do("POST", "/upload/new", map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"},
		strings.NewReader(`{"content":{"name":"example"}}`))
	if r.status != 200 || r.json(t)["cid"] != fx.JSON.V1 {
		t.Fatalf("upload/new with Bearer token: %d %s", r.status, r.body)
	}
	// The full token appears in no later response.
	list := e.get("/signed-tokens", e.key)
	if list.status != 200 || strings.Contains(string(list.body), tok) {
		t.Fatalf("token list leaks the token or failed: %d", list.status)
	}
	var tokens []map[string]any
	json.Unmarshal(list.body, &tokens)
	if len(tokens) != 1 || tokens[0]["useCount"] != float64(2) || tokens[0]["lastUsedAt"] == nil ||
		tokens[0]["status"] != "active" || tokens[0]["createdAt"] == nil || tokens[0]["bytesUploaded"] != float64(f.Size+18) {
		t.Fatalf("token list: %s", list.body)
	}
}

func TestUploadTokensSeedCarriesItsConstraints(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"expiresIn": "1h", "maxUploads": 10, "maxSizeMB": 50,
		"allowedMimeTypes": []string{"image/jpeg", "image/png"}, "ipWhitelist": []string{"192.168.1.0/24"}})
	var tokens []map[string]any
	json.Unmarshal(e.get("/signed-tokens", e.key).body, &tokens)
	got := tokens[0]
	if got["maxUploads"] != float64(10) || got["maxSizeMB"] != float64(50) ||
		fmt.Sprint(got["allowedMimeTypes"]) != "[image/jpeg image/png]" || fmt.Sprint(got["ipWhitelist"]) != "[192.168.1.0/24]" {
		t.Fatalf("constraints not recorded: %v", got)
	}
	// 127.0.0.1 is not in 192.168.1.0/24.
	resp := e.tokenUpload(m["token"].(string), "a.png", pngBytes(), nil)
	if resp.status != 403 || resp.reason(t) != "IP_NOT_ALLOWED" {
		t.Fatalf("got %d %s, want 403 IP_NOT_ALLOWED", resp.status, resp.body)
	}
}

func TestTokenRequestsWithBadFieldsAreRefused(t *testing.T) {
	e := newEnv(t)
	for _, body := range []string{
		`{"expiresIn":"forever"}`, `{"expiresIn":-5}`, `{"expiresIn":"90d"}`, `{"maxSizeMB":"big"}`,
		`{"ipWhitelist":["not-an-ip"]}`, `{"allowedMimeTypes":["image png"]}`, `{"maxUploads":-1}`, `{"expiresIn":`,
	} {
		resp := e.do("POST", "/upload-tokens", map[string]string{"X-Api-Key": e.key}, strings.NewReader(body))
		if resp.status != 400 || resp.reason(t) != "BAD_REQUEST" {
			t.Errorf("%s: got %d %s, want 400 BAD_REQUEST", body, resp.status, resp.body)
		}
	}
	if list, _ := e.store.Tokens(e.acct.ID); len(list) != 0 {
		t.Fatalf("%d tokens written by refused requests", len(list))
	}
	// A key without tokens:write cannot issue tokens.
	uploadOnly := e.mintKey(e.acct.ID, token.ScopeUpload)
	if resp := e.postJSON("/upload/signed-url", uploadOnly, map[string]any{"expiresIn": 60}); resp.status != 403 {
		t.Fatalf("key without tokens:write: %d %s", resp.status, resp.body)
	}
}

func TestRevokedTokenIsRefusedOnTheVeryNextUpload(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"expiresIn": 3600})
	tok, id := m["token"].(string), m["tokenId"].(string)
	if r := e.tokenUpload(tok, "a.txt", []byte("one"), nil); r.status != 200 {
		t.Fatal(r.status, string(r.body))
	}
	resp := e.do("DELETE", "/signed-tokens/"+id, map[string]string{"X-Api-Key": e.key}, nil)
	if resp.status != 200 || string(bytes.TrimSpace(resp.body)) != `{"message":"Token revoked"}` {
		t.Fatalf("revoke: %d %s", resp.status, resp.body)
	}
	r := e.tokenUpload(tok, "b.txt", []byte("two"), nil)
	if r.status != 401 || r.reason(t) != "TOKEN_REVOKED" {
		t.Fatalf("after revoke: %d %s, want 401 TOKEN_REVOKED", r.status, r.body)
	}
	if rec := e.tokenRecord(id); rec.UseCount != 1 || rec.Failures["TOKEN_REVOKED"] != 1 {
		t.Fatalf("useCount %d failures %v", rec.UseCount, rec.Failures)
	}
}

func TestTokenOfARevokedKeyDiesWithIt(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"expiresIn": 3600})
	keys, _ := e.store.APIKeys(e.acct.ID)
	for _, k := range keys {
		if k.ID != "" && !contains(k.Scopes, "admin") {
			e.store.RevokeAPIKey("", k.ID)
		}
	}
	r := e.tokenUpload(m["token"].(string), "a.txt", []byte("x"), nil)
	if r.status != 401 || r.reason(t) != "TOKEN_REVOKED" {
		t.Fatalf("got %d %s, want 401 TOKEN_REVOKED", r.status, r.body)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestExpiredTokenIs401TokenExpired(t *testing.T) {
	c := &clock{}
	e := newEnv(t, withClock(c))
	m := e.newToken(map[string]any{"expiresIn": 60})
	if r := e.tokenUpload(m["token"].(string), "a.txt", []byte("in time"), nil); r.status != 200 {
		t.Fatal(r.status, string(r.body))
	}
	c.advance(61 * time.Second)
	r := e.tokenUpload(m["token"].(string), "b.txt", []byte("too late"), nil)
	if r.status != 401 || r.reason(t) != "TOKEN_EXPIRED" {
		t.Fatalf("got %d %s, want 401 TOKEN_EXPIRED", r.status, r.body)
	}
	var tokens []map[string]any
	json.Unmarshal(e.get("/signed-tokens", e.key).body, &tokens)
	if tokens[0]["status"] != "expired" {
		t.Fatalf("status %v, want expired", tokens[0]["status"])
	}
}

func TestMaxUploadsIsOneAtomicReservation(t *testing.T) {
	e := newEnv(t)
	const k, n = 3, 12
	m := e.newToken(map[string]any{"expiresIn": 3600, "maxUploads": k})
	tok, id := m["token"].(string), m["tokenId"].(string)
	var wg sync.WaitGroup
	statuses := make([]int, n)
	reasons := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each body is big enough that the uploads overlap.
			r := e.tokenUpload(tok, fmt.Sprintf("f%d.bin", i), fixtureBytes(uint64(100+i), 512<<10), nil)
			statuses[i] = r.status
			if r.status != 200 {
				reasons[i] = r.reason(t)
			}
		}()
	}
	wg.Wait()
	ok, exhausted := 0, 0
	for i := range n {
		switch {
		case statuses[i] == 200:
			ok++
		case statuses[i] == 403 && reasons[i] == "TOKEN_EXHAUSTED":
			exhausted++
		default:
			t.Errorf("upload %d: %d %s", i, statuses[i], reasons[i])
		}
	}
	if ok != k || exhausted != n-k {
		t.Fatalf("%d succeeded and %d were exhausted, want %d and %d", ok, exhausted, k, n-k)
	}
	if rec := e.tokenRecord(id); rec.UseCount != k {
		t.Fatalf("useCount = %d, want %d", rec.UseCount, k)
	}
	if _, pins, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); pins != k {
		t.Fatalf("%d pins, want %d", pins, k)
	}
	var tokens []map[string]any
	json.Unmarshal(e.get("/signed-tokens", e.key).body, &tokens)
	if tokens[0]["status"] != "exhausted" {
		t.Fatalf("status %v, want exhausted", tokens[0]["status"])
	}
}

// chunked hides a body's length so the request is sent chunked.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestMaxSizeCutsOffAChunkedStreamAndReleasesTheUse(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"expiresIn": 3600, "maxSizeMB": 1, "maxUploads": 1})
	tok, id := m["token"].(string), m["tokenId"].(string)
	ct, body := multipartBody(t, nil, filePart{name: "big.bin", data: fixtureBytes(5, 1<<20+1)})
	req, _ := http.NewRequest("POST", e.http.URL+"/upload", chunked{bytes.NewReader(body)})
	req.Header.Set("Authorization", "Signed "+tok)
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if req.ContentLength != 0 || resp.StatusCode != 413 || !strings.Contains(string(b), "SIZE_EXCEEDED") {
		t.Fatalf("got %d %s (content length %d), want 413 SIZE_EXCEEDED", resp.StatusCode, b, req.ContentLength)
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 0 {
		t.Fatalf("%d pins after an oversized upload", n)
	}
	rec := e.tokenRecord(id)
	if rec.UseCount != 0 || rec.Failures["SIZE_EXCEEDED"] != 1 {
		t.Fatalf("useCount %d failures %v; the use must be released and the failure counted", rec.UseCount, rec.Failures)
	}
	// The released use is still there for a file that fits.
	if r := e.tokenUpload(tok, "fits.bin", fixtureBytes(5, 1<<20), nil); r.status != 200 {
		t.Fatalf("upload within the limit after a refusal: %d %s", r.status, r.body)
	}
}

// pngBytes is a minimal PNG signature and header.
func pngBytes() []byte {
	return append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...)
}

func TestAllowedMimeTypesAreCheckedAgainstTheSniffedBytes(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"expiresIn": 3600, "allowedMimeTypes": []string{"image/*"}})
	tok := m["token"].(string)
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 200)...)
	copy(exe[0x3c:], []byte{0x80, 0, 0, 0})
	exe = append(exe, []byte("PE\x00\x00")...)
	ct, body := multipartBody(t, nil, filePart{name: "cat.png", data: exe, typ: "image/png"})
	r := e.do("POST", "/upload", map[string]string{"Authorization": "Signed " + tok, "Content-Type": ct}, bytes.NewReader(body))
	if r.status != 415 || r.reason(t) != "MIME_NOT_ALLOWED" {
		t.Fatalf("renamed executable: %d %s, want 415 MIME_NOT_ALLOWED", r.status, r.body)
	}
	ct, body = multipartBody(t, nil, filePart{name: "cat.png", data: pngBytes(), typ: "image/png"})
	r = e.do("POST", "/upload", map[string]string{"Authorization": "Signed " + tok, "Content-Type": ct}, bytes.NewReader(body))
	if r.status != 200 || r.json(t)["mimeType"] != "image/png" {
		t.Fatalf("real PNG: %d %s", r.status, r.body)
	}
}

func TestIPWhitelistHonoursForwardingOnlyFromTrustedProxies(t *testing.T) {
	t.Run("a spoofed X-Forwarded-For from an untrusted peer is ignored", func(t *testing.T) {
		e := newEnv(t)
		m := e.newToken(map[string]any{"expiresIn": 3600, "ipWhitelist": []string{"192.168.1.0/24"}})
		r := e.tokenUpload(m["token"].(string), "a.txt", []byte("x"), map[string]string{"X-Forwarded-For": "192.168.1.7"})
		if r.status != 403 || r.reason(t) != "IP_NOT_ALLOWED" {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("loopback clients match a loopback whitelist", func(t *testing.T) {
		e := newEnv(t)
		m := e.newToken(map[string]any{"expiresIn": 3600, "ipWhitelist": []string{"127.0.0.0/8"}})
		if r := e.tokenUpload(m["token"].(string), "a.txt", []byte("x"), nil); r.status != 200 {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	e := newEnv(t, withProxies("127.0.0.1/32"))
	m := e.newToken(map[string]any{"expiresIn": 3600, "ipWhitelist": []string{"2001:db8::/32", "10.1.0.0/16"}})
	tok := m["token"].(string)
	cases := []struct {
		name, xff string
		want      int
	}{
		{"an IPv6 client in the list behind the trusted proxy", "2001:db8::5", 200},
		{"an IPv4 client in the list behind the trusted proxy", "10.1.2.3", 200},
		{"an IPv6 client outside the list", "2001:db9::1", 403},
		{"a client that prepends an allowed address is judged by the proxy's hop", "10.1.2.3, 203.0.113.9", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.tokenUpload(tok, "a.txt", []byte(tc.name), map[string]string{"X-Forwarded-For": tc.xff})
			if r.status != tc.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
			}
		})
	}
}

func TestAllowedOriginsAndCORSForBrowserUploads(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"expiresIn": 3600, "allowedOrigins": []string{"https://app.example.com"}})
	tok := m["token"].(string)
	pre := e.do("OPTIONS", "/upload", map[string]string{"Origin": "https://app.example.com",
		"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}, nil)
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", pre.status, pre.header)
	}
	r := e.tokenUpload(tok, "a.txt", []byte("from the app"), map[string]string{"Origin": "https://app.example.com"})
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("allowed origin: %d %s %v", r.status, r.body, r.header)
	}
	r = e.tokenUpload(tok, "b.txt", []byte("from elsewhere"), map[string]string{"Origin": "https://evil.example"})
	if r.status != 403 || r.reason(t) != "ORIGIN_NOT_ALLOWED" {
		t.Fatalf("other origin: %d %s", r.status, r.body)
	}
}

func TestBoundNameAndMetadataCannotBeOverridden(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"expiresIn": 3600, "fileName": "avatar.png", "metadata": map[string]string{"user": "42"}})
	tok := m["token"].(string)
	ct, body := multipartBody(t, [][2]string{{"name", "other.png"}}, filePart{name: "x.png", data: pngBytes()})
	r := e.do("POST", "/upload", map[string]string{"Authorization": "Signed " + tok, "Content-Type": ct}, bytes.NewReader(body))
	if r.status != 422 || r.reason(t) != "PARAM_MISMATCH" {
		t.Fatalf("overriding the bound name: %d %s", r.status, r.body)
	}
	ct, body = multipartBody(t, [][2]string{{"metadata", `{"user":"7"}`}}, filePart{name: "x.png", data: pngBytes()})
	r = e.do("POST", "/upload", map[string]string{"Authorization": "Signed " + tok, "Content-Type": ct}, bytes.NewReader(body))
	if r.status != 422 || r.reason(t) != "PARAM_MISMATCH" {
		t.Fatalf("overriding bound metadata: %d %s", r.status, r.body)
	}
	ct, body = multipartBody(t, [][2]string{{"metadata", `{"extra":"ok"}`}}, filePart{name: "x.png", data: pngBytes()})
	r = e.do("POST", "/upload", map[string]string{"Authorization": "Signed " + tok, "Content-Type": ct}, bytes.NewReader(body))
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	pins, _ := e.store.PinsByCID(e.acct.ID, r.json(t)["cid"].(string))
	if pins[0].Name != "avatar.png" || pins[0].Metadata["user"] != "42" || pins[0].Metadata["extra"] != "ok" {
		t.Fatalf("pin record %+v", pins[0])
	}
}

func TestAnUploadTokenCanOnlyUploadAndReadItsOwnPins(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"expiresIn": 3600})
	tok := m["token"].(string)
	mine := e.tokenUpload(tok, "mine.txt", []byte("mine"), nil).json(t)["cid"].(string)
	theirs := e.upload(e.key, "", nil, filePart{name: "k.txt", data: []byte("the key's")}).json(t)["cid"].(string)
	bearer := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
	for _, c := range []struct{ method, path string }{
		{"GET", "/upload/list"}, {"DELETE", "/pins/" + mine}, {"POST", "/upload-tokens"}, {"POST", "/upload/signed-url"},
		{"GET", "/signed-tokens"}, {"DELETE", "/signed-tokens/" + m["tokenId"].(string)}, {"GET", "/admin/keys"},
		{"POST", "/admin/keys"}, {"GET", "/analytics"},
	} {
		r := e.do(c.method, c.path, bearer, strings.NewReader(`{"name":"x","expiresIn":60}`))
		if r.status != 403 || r.reason(t) != "FORBIDDEN" {
			t.Errorf("%s %s with a token: %d %s, want 403 FORBIDDEN", c.method, c.path, r.status, r.body)
		}
	}
	if st := e.get("/pins/"+mine, tok).json(t); st["pinned"] != true {
		t.Errorf("the token cannot read its own upload's status: %v", st)
	}
	if st := e.get("/pins/"+theirs, tok).json(t); st["pinned"] != false {
		t.Errorf("the token sees another credential's pin: %v", st)
	}
}

func TestTamperedTokensAreRefused(t *testing.T) {
	e := newEnv(t)
	tok := e.newToken(map[string]any{"expiresIn": 3600})["token"].(string)
	for _, bad := range []string{mutate(tok), tok[:len(tok)-1], tok + "x", "sup_", strings.ToUpper(tok)} {
		r := e.tokenUpload(bad, "a.txt", []byte("x"), nil)
		if r.status != 401 {
			t.Errorf("%q: %d %s, want 401", bad, r.status, r.body)
		}
	}
}

func TestTokenInfoShowsTheConstraintsUpFront(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"name": "Gallery", "expiresIn": 3600, "maxUploads": 2, "maxSizeMB": 5, "allowedMimeTypes": []string{"image/*"}})
	tok := m["token"].(string)
	e.tokenUpload(tok, "a.png", pngBytes(), nil)
	info := e.do("GET", "/upload-tokens/info", map[string]string{"Authorization": "Signed " + tok}, nil).json(t)
	if info["tokenName"] != "Gallery" || info["usesLeft"] != float64(1) || info["maxSizeMB"] != float64(5) || info["status"] != "active" {
		t.Fatalf("info: %v", info)
	}
	e.do("DELETE", "/signed-tokens/"+m["tokenId"].(string), map[string]string{"X-Api-Key": e.key}, nil)
	r := e.do("GET", "/upload-tokens/info", map[string]string{"Authorization": "Signed " + tok}, nil)
	if r.status != 401 || r.reason(t) != "TOKEN_REVOKED" {
		t.Fatalf("info of a revoked token: %d %s", r.status, r.body)
	}
}

func TestAnalyticsFiltersByKeyOrTokenPrefix(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"expiresIn": 3600})
	tok, prefix := m["token"].(string), m["tokenPrefix"].(string)
	e.tokenUpload(tok, "a.png", pngBytes(), nil)
	e.tokenUpload(tok, "b.png", pngBytes()[:70], nil)
	up := e.upload(e.key, "", nil, filePart{name: "c.txt", data: []byte("hello from the key")})
	keyCID := up.json(t)["cid"].(string)
	e.get("/ipfs/"+keyCID, "")
	e.flushEvents()

	day := time.Now().UTC().Format("2006-01-02")
	all := e.get("/analytics?from="+day+"&to="+day, e.key).json(t)
	tot := all["totals"].(map[string]any)
	if tot["uploads"] != float64(3) || tot["gatewayBytes"] != float64(len("hello from the key")) {
		t.Fatalf("totals: %v", tot)
	}
	onlyTok := e.get("/analytics?from="+day+"&to="+day+"&apiKey="+prefix, e.key).json(t)
	tt := onlyTok["totals"].(map[string]any)
	if tt["uploads"] != float64(2) || tt["fileTypes"].(map[string]any)["image/png"] != float64(2) || tt["gatewayBytes"] != float64(0) {
		t.Fatalf("token totals: %v", tt)
	}
	daily := onlyTok["daily"].([]any)
	if len(daily) != 1 || daily[0].(map[string]any)["uploads"] != float64(2) {
		t.Fatalf("daily: %v", daily)
	}
	growth := all["storageGrowth"].([]any)
	if len(growth) != 1 || growth[0].(map[string]any)["bytes"] != tot["storageBytes"] {
		t.Fatalf("storage growth %v vs storage %v", growth, tot["storageBytes"])
	}
	list := e.get("/upload/list?from="+day+"&to="+day, e.key).json(t)
	if list["count"] != float64(3) {
		t.Fatalf("upload list count %v", list["count"])
	}
	if r := e.get("/analytics?from=2026-13-01", e.key); r.status != 400 {
		t.Fatalf("bad date: %d", r.status)
	}
}

func TestCORSCoversOnlyTheBrowserFacingEndpoints(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]bool{
		"/upload": true, "/upload/new": true, "/upload-tokens/info": true, "/ipfs/x": true, "/pins/x": true,
		"/upload-tokens": false, "/upload/signed-url": false, "/admin/keys": false, "/signed-tokens": false,
	} {
		r := e.do("OPTIONS", path, map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}, nil)
		if got := r.header.Get("Access-Control-Allow-Origin") != ""; got != want {
			t.Errorf("%s: CORS allowed = %v, want %v", path, got, want)
		}
	}
}

func TestRefusedTokenUploadsCountInAnalytics(t *testing.T) {
	c := &clock{}
	e := newEnv(t, withClock(c))
	m := e.newToken(map[string]any{"expiresIn": 60})
	tok, prefix := m["token"].(string), m["tokenPrefix"].(string)
	e.tokenUpload(tok, "a.txt", []byte("in time"), nil)
	c.advance(2 * time.Minute)
	if r := e.tokenUpload(tok, "b.txt", []byte("late"), nil); r.status != 401 {
		t.Fatalf("expired: %d", r.status)
	}
	e.flushEvents()
	day := c.now().UTC().Format("2006-01-02")
	tot := e.get("/analytics?from="+day+"&to="+day+"&apiKey="+prefix, e.key).json(t)["totals"].(map[string]any)
	if tot["uploads"] != float64(1) || tot["failedUploads"] != float64(1) {
		t.Fatalf("totals %v: want one upload and one failed (expired) upload", tot)
	}
	// A file part before the token field gets a hint about the order.
	ct, body := multipartBody(t, nil, filePart{name: "x", data: []byte("x")})
	r := e.do("POST", "/upload", map[string]string{"Content-Type": ct}, bytes.NewReader(body))
	if r.status != 401 || !strings.Contains(string(r.body), "the form field token") {
		t.Fatalf("no credential: %d %s", r.status, r.body)
	}
}

func TestBoundMetadataCountsTowardTheKeyLimit(t *testing.T) {
	e := newEnv(t)
	bound := map[string]string{}
	for i := range 40 {
		bound[fmt.Sprint("b", i)] = "v"
	}
	tok := e.newToken(map[string]any{"expiresIn": 600, "metadata": bound})["token"].(string)
	extra := map[string]string{}
	for i := range 30 {
		extra[fmt.Sprint("x", i)] = "v"
	}
	ct, body := multipartBody(t, [][2]string{{"metadata", mustJSON(extra)}}, filePart{name: "a.txt", data: []byte("a")})
	r := e.do("POST", "/upload", map[string]string{"Authorization": "Signed " + tok, "Content-Type": ct}, bytes.NewReader(body))
	if r.status != 400 || r.reason(t) != "BAD_REQUEST" {
		t.Fatalf("70 metadata keys: %d %s, want 400", r.status, r.body)
	}
}
