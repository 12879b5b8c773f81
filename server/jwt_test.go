package server_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// signingKey creates an upload-signing key with the API key.
func (e *env) signingKey() (kid string, secret []byte) {
	e.t.Helper()
	resp := e.postJSON("/upload-signing-keys", e.key, map[string]any{"name": "backend"})
	if resp.status != http.StatusCreated {
		e.t.Fatalf("create signing key: %d %s", resp.status, resp.body)
	}
	m := resp.json(e.t)
	return m["kid"].(string), []byte(m["secret"].(string))
}

var jtiSeq = 0

// uploadClaims are a valid payload issued at now: the app backend's view.
func uploadClaims(now time.Time, extra map[string]any) map[string]any {
	jtiSeq++
	c := map[string]any{"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": fmt.Sprintf("jti-%d-%d", now.UnixNano(), jtiSeq)}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func mintJWT(t *testing.T, kid string, secret []byte, claims map[string]any) string {
	t.Helper()
	jwt, err := token.SignUploadJWT(kid, secret, claims)
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

// rawHS signs an arbitrary header and payload with HMAC-SHA256, to forge
// tokens the library would refuse to make.
func rawHS(header, payload string, secret []byte) string {
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + enc.EncodeToString(m.Sum(nil))
}

// jwtUpload uploads data as fileName with the JWT in the multipart `token`
// field (before the file part) and extra fields.
func (e *env) jwtUpload(jwt string, fields [][2]string, fileName string, data []byte) response {
	e.t.Helper()
	all := append([][2]string{{"token", jwt}}, fields...)
	ct, body := multipartBody(e.t, all, filePart{name: fileName, data: data})
	return e.do("POST", "/upload", map[string]string{"Content-Type": ct}, bytes.NewReader(body))
}

func TestClientMintedUploadJWTRejectionMatrix(t *testing.T) {
	c := &clock{}
	e := newEnv(t, withClock(c))
	kid, secret := e.signingKey()
	otherKid, _ := e.signingKey()
	now := c.now()
	edPriv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	payload := mustJSON(uploadClaims(now, nil))

	cases := []struct {
		name       string
		jwt        string
		fields     [][2]string
		file       string
		data       []byte
		wantStatus int
		wantReason string
	}{
		{"a valid token with its signed file name uploads", mintJWT(t, kid, secret, uploadClaims(now, map[string]any{"fileName": "a.txt"})), [][2]string{{"name", "a.txt"}}, "a.txt", []byte("hello"), 200, ""},
		{"a lifetime of exactly 3600 s passes", mintJWT(t, kid, secret, uploadClaims(now, map[string]any{"exp": now.Unix() + 3600})), nil, "f", []byte("x"), 200, ""},
		{"a lifetime of 3601 s fails", mintJWT(t, kid, secret, uploadClaims(now, map[string]any{"exp": now.Unix() + 3601})), nil, "f", []byte("x"), 401, "UNAUTHORIZED"},
		{"a request parameter missing from the payload is PARAM_MISMATCH", mintJWT(t, kid, secret, uploadClaims(now, nil)), [][2]string{{"name", "other.txt"}}, "f", []byte("x"), 422, "PARAM_MISMATCH"},
		{"a request parameter that differs from the payload is PARAM_MISMATCH", mintJWT(t, kid, secret, uploadClaims(now, map[string]any{"cidVersion": 1})), [][2]string{{"cidVersion", "0"}}, "f", []byte("x"), 422, "PARAM_MISMATCH"},
		{"metadata that differs from the payload is PARAM_MISMATCH", mintJWT(t, kid, secret, uploadClaims(now, map[string]any{"metadata": map[string]string{"u": "1"}})), [][2]string{{"metadata", `{"u":"2"}`}}, "f", []byte("x"), 422, "PARAM_MISMATCH"},
		{"an expired token is TOKEN_EXPIRED", mintJWT(t, kid, secret, uploadClaims(now, map[string]any{"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})), nil, "f", []byte("x"), 401, "TOKEN_EXPIRED"},
		{"a JWT without jti uploads once, as ImageKit's do", mintJWT(t, kid, secret, uploadClaims(now, map[string]any{"jti": nil})), nil, "f", []byte("x"), 200, ""},
		{"a missing iat is refused", mintJWT(t, kid, secret, uploadClaims(now, map[string]any{"iat": nil})), nil, "f", []byte("x"), 401, "UNAUTHORIZED"},
		{"alg none is refused", rawHS(`{"alg":"none","kid":"`+kid+`"}`, payload, nil)[:len(rawHS(`{"alg":"none","kid":"`+kid+`"}`, payload, nil))-43], nil, "f", []byte("x"), 401, "UNAUTHORIZED"},
		{"HS512 is refused", rawHS(`{"alg":"HS512","kid":"`+kid+`"}`, payload, secret), nil, "f", []byte("x"), 401, "UNAUTHORIZED"},
		{"an EdDSA header is refused (no algorithm confusion)", edJWT(kid, payload, edPriv), nil, "f", []byte("x"), 401, "UNAUTHORIZED"},
		{"a token signed with another key's secret is refused", mintJWT(t, otherKid, secret, uploadClaims(now, nil)), nil, "f", []byte("x"), 401, "UNAUTHORIZED"},
		{"an unknown kid is refused", mintJWT(t, "usk_"+strings.Repeat("a", len(kid)-4), secret, uploadClaims(now, nil)), nil, "f", []byte("x"), 401, "UNAUTHORIZED"},
		{"a malformed kid is refused", rawHS(`{"alg":"HS256","kid":"../../etc"}`, payload, secret), nil, "f", []byte("x"), 401, "UNAUTHORIZED"},
		{"a JWS in JSON serialisation is refused", `{"payload":"e30","signatures":[]}`, nil, "f", []byte("x"), 401, "UNAUTHORIZED"},
		{"a JWE-shaped token is refused", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", nil, "f", []byte("x"), 401, "UNAUTHORIZED"},
		{"a signed size limit cuts the stream", mintJWT(t, kid, secret, uploadClaims(now, map[string]any{"maxSizeMB": 1})), nil, "big", fixtureBytes(4, 1<<20+10), 413, "SIZE_EXCEEDED"},
		{"a signed MIME list refuses other types", mintJWT(t, kid, secret, uploadClaims(now, map[string]any{"allowedMimeTypes": []string{"image/*"}})), nil, "f.png", []byte("plain text"), 415, "MIME_NOT_ALLOWED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.jwtUpload(tc.jwt, tc.fields, tc.file, tc.data)
			if r.status != tc.wantStatus {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.wantStatus)
			}
			if tc.wantReason != "" && r.reason(t) != tc.wantReason {
				t.Fatalf("reason %s, want %s", r.reason(t), tc.wantReason)
			}
		})
	}
	pins, _, _ := e.store.ListPins(e.acct.ID, store.PinFilter{})
	if len(pins) != 3 || pins[2].Name != "a.txt" {
		t.Fatalf("pins recorded: %+v; want the three accepted uploads", pins)
	}
}

func edJWT(kid, payload string, priv ed25519.PrivateKey) string {
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(`{"alg":"EdDSA","kid":"`+kid+`"}`)) + "." + enc.EncodeToString([]byte(payload))
	return in + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(in)))
}

func TestUploadJWTIsSingleUseEvenWhenTheFirstUseFails(t *testing.T) {
	e := newEnv(t)
	kid, secret := e.signingKey()
	jwt := mintJWT(t, kid, secret, uploadClaims(time.Now(), nil))
	if r := e.jwtUpload(jwt, [][2]string{{"name", "unsigned"}}, "f", []byte("x")); r.status != 422 {
		t.Fatalf("first use: %d %s", r.status, r.body)
	}
	r := e.jwtUpload(jwt, nil, "f", []byte("x"))
	if r.status != 409 || r.reason(t) != "TOKEN_REPLAYED" {
		t.Fatalf("second use: %d %s, want 409 TOKEN_REPLAYED", r.status, r.body)
	}
	// As Bearer on the JSON endpoint too.
	jwt2 := mintJWT(t, kid, secret, uploadClaims(time.Now(), nil))
	h := map[string]string{"Authorization": "Bearer " + jwt2, "Content-Type": "application/json"}
	if r := e.do("POST", "/upload/new", h, strings.NewReader(`{"content":{"a":1}}`)); r.status != 200 {
		t.Fatalf("bearer upload: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/upload/new", h, strings.NewReader(`{"content":{"a":1}}`)); r.status != 409 {
		t.Fatalf("bearer replay: %d %s", r.status, r.body)
	}
}

func TestParallelUsesOfOneJTILetExactlyOneProceed(t *testing.T) {
	e := newEnv(t)
	kid, secret := e.signingKey()
	jwt := mintJWT(t, kid, secret, uploadClaims(time.Now(), nil))
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.jwtUpload(jwt, nil, "f", []byte(fmt.Sprint("parallel ", i))).status
		}()
	}
	wg.Wait()
	ok, replayed := 0, 0
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 409:
			replayed++
		}
	}
	if ok != 1 || replayed != n-1 {
		t.Fatalf("statuses %v: want one 200 and %d 409", statuses, n-1)
	}
}

func TestRevokingASigningKeyInvalidatesItsJWTsAtOnce(t *testing.T) {
	e := newEnv(t)
	kid, secret := e.signingKey()
	jwt := mintJWT(t, kid, secret, uploadClaims(time.Now(), nil))
	if r := e.do("DELETE", "/upload-signing-keys/"+kid, map[string]string{"X-Api-Key": e.key}, nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	r := e.jwtUpload(jwt, nil, "f", []byte("x"))
	if r.status != 401 || r.reason(t) != "TOKEN_REVOKED" {
		t.Fatalf("got %d %s, want 401 TOKEN_REVOKED", r.status, r.body)
	}
	list := e.get("/upload-signing-keys", e.key)
	if strings.Contains(string(list.body), string(secret)) || !strings.Contains(string(list.body), `"revoked":true`) {
		t.Fatalf("signing key list: %s", list.body)
	}
}

func TestAccessJWTsAreScopedExpiringAndRevocable(t *testing.T) {
	e := newEnv(t)
	resp := e.postJSON("/auth/jwt", e.key, map[string]any{"name": "reporting", "scopes": []string{"pins:read", "analytics:read"}, "expiresIn": "1h", "maxUses": 3})
	if resp.status != http.StatusCreated {
		t.Fatalf("issue: %d %s", resp.status, resp.body)
	}
	m := resp.json(t)
	jwt, jti := m["token"].(string), m["jti"].(string)
	if strings.Contains(jwt, e.key) || strings.Count(jwt, ".") != 2 {
		t.Fatalf("bad JWT %q", jwt)
	}
	// A third party verifies it with the published key.
	jwks := e.get("/.well-known/jwks.json", "")
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	json.Unmarshal(jwks.body, &set)
	if jwks.status != 200 || len(set.Keys) != 1 || set.Keys[0]["kty"] != "OKP" || set.Keys[0]["kid"] != e.signer.KeyID() || set.Keys[0]["d"] != nil {
		t.Fatalf("jwks: %d %s", jwks.status, jwks.body)
	}
	pub, _ := base64.RawURLEncoding.DecodeString(set.Keys[0]["x"].(string))
	parts := strings.Split(jwt, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		t.Fatal("the JWT does not verify with the JWKS key")
	}
	if r := e.get("/upload/list", jwt); r.status != 200 {
		t.Fatalf("allowed scope: %d %s", r.status, r.body)
	}
	h := map[string]string{"Authorization": "Bearer " + jwt, "Content-Type": "application/json"}
	if r := e.do("POST", "/upload/new", h, strings.NewReader(`{"content":{"a":1}}`)); r.status != 403 || r.reason(t) != "FORBIDDEN" {
		t.Fatalf("scope it lacks: %d %s", r.status, r.body)
	}
	// The refused request did not spend a use: two are left.
	if r := e.get("/analytics", jwt); r.status != 200 {
		t.Fatalf("second use: %d %s", r.status, r.body)
	}
	if r := e.get("/upload/list", jwt); r.status != 200 {
		t.Fatalf("third use: %d %s", r.status, r.body)
	}
	if r := e.get("/upload/list", jwt); r.status != 403 || r.reason(t) != "TOKEN_EXHAUSTED" {
		t.Fatalf("past maxUses: %d %s", r.status, r.body)
	}

	resp = e.postJSON("/auth/jwt", e.key, map[string]any{"scopes": []string{"pins:read"}, "expiresIn": 600})
	jwt2, jti2 := resp.json(t)["token"].(string), resp.json(t)["jti"].(string)
	if r := e.do("DELETE", "/auth/jwt/"+jti2, map[string]string{"X-Api-Key": e.key}, nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.get("/upload/list", jwt2); r.status != 401 || r.reason(t) != "TOKEN_REVOKED" {
		t.Fatalf("revoked JWT: %d %s", r.status, r.body)
	}
	_ = jti

	// A JWT can never carry more than its key.
	uploadOnly := e.mintKey(e.acct.ID, token.ScopeUpload, token.ScopeTokensWrite)
	if r := e.postJSON("/auth/jwt", uploadOnly, map[string]any{"scopes": []string{"admin"}, "expiresIn": 60}); r.status != 403 {
		t.Fatalf("widening JWT: %d %s", r.status, r.body)
	}
	// A JWT signed by another server key is refused.
	other := token.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)))
	forged, _ := other.Issue(token.AccessClaims{Subject: e.acct.ID, KeyID: "key_x", Scopes: []token.Scope{token.ScopeAdmin},
		IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), JTI: "forged-jti-0001"})
	if r := e.get("/admin/keys", forged); r.status != 401 {
		t.Fatalf("forged JWT: %d %s", r.status, r.body)
	}
}

func TestEveryRouteRefusesACredentialWithoutItsScope(t *testing.T) {
	e := newEnv(t)
	const aCID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
	n := 0
	for _, rt := range e.srv.Routes() {
		if rt.Public {
			continue
		}
		if rt.Scope == "" {
			t.Errorf("%s names no scope and is not public", rt.Pattern)
			continue
		}
		var scopes []token.Scope
		for _, s := range token.AllScopes() {
			if s != rt.Scope && s != rt.OrScope && s != token.ScopeAdmin {
				scopes = append(scopes, s)
			}
		}
		key := e.mintKey(e.acct.ID, scopes...)
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.NewReplacer("{cid}", aCID, "{id}", "x", "{tokenId}", "tok_x", "{kid}", "usk_x", "{jti}", "x",
			"{requestid}", "x", "{$}", "", "{path...}", "x").Replace(path)
		if strings.HasSuffix(path, "/") && !strings.HasSuffix(rt.Pattern, "{$}") {
			path += "x"
		}
		r := e.do(method, path, map[string]string{"X-Api-Key": key, "Content-Type": "application/json"}, strings.NewReader("{}"))
		if method == "HEAD" && r.status == 403 {
			n++
			continue // a HEAD answer has no body to give the reason in
		}
		if r.status != 403 || r.reason(t) != "FORBIDDEN" {
			t.Errorf("%s with scopes %v: %d %s, want 403 FORBIDDEN", rt.Pattern, scopes, r.status, r.body)
		}
		n++
	}
	if n < 20 {
		t.Fatalf("only %d routes walked", n)
	}
}

func TestAnAccessJWTMayIssueUploadTokensWithinItsOwnLife(t *testing.T) {
	e := newEnv(t)
	m := e.postJSON("/auth/jwt", e.key, map[string]any{"scopes": []string{"upload", "tokens:write"}, "expiresIn": 600}).json(t)
	jwt := m["token"].(string)
	jwtExp := int64(m["expiresAt"].(float64))
	h := map[string]string{"Authorization": "Bearer " + jwt, "Content-Type": "application/json"}
	r := e.do("POST", "/upload-tokens", h, strings.NewReader(`{"expiresIn":"7d","maxUploads":1}`))
	if r.status != 201 {
		t.Fatalf("upload token from an access JWT: %d %s", r.status, r.body)
	}
	tok := r.json(t)
	if exp := int64(tok["expiresAt"].(float64)); exp > jwtExp+int64(token.Skew/time.Millisecond) {
		t.Fatalf("the token expires at %d, after its JWT (%d)", exp, jwtExp)
	}
	if up := e.tokenUpload(tok["token"].(string), "a.txt", []byte("via a JWT's token"), nil); up.status != 200 {
		t.Fatalf("upload with it: %d %s", up.status, up.body)
	}
	for _, path := range []string{"/upload-signing-keys", "/auth/jwt"} {
		r := e.do("POST", path, h, strings.NewReader(`{"scopes":["upload"],"expiresIn":60}`))
		if r.status != 403 || r.reason(t) != "FORBIDDEN" {
			t.Errorf("%s with an access JWT: %d %s, want 403 (only API keys mint lasting credentials)", path, r.status, r.body)
		}
	}
	// A key that cannot upload gets no signing key whose JWTs would all fail.
	noUpload := e.mintKey(e.acct.ID, token.ScopeTokensWrite)
	if r := e.postJSON("/upload-signing-keys", noUpload, map[string]any{"name": "x"}); r.status != 403 {
		t.Fatalf("signing key for a key without upload: %d %s", r.status, r.body)
	}
}

func TestAnUploadJWTBindsOneFileAndNothingUnsigned(t *testing.T) {
	e := newEnv(t)
	kid, secret := e.signingKey()
	now := time.Now()
	h := func(jwt string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + jwt, "Content-Type": "application/json"}
	}
	r := e.do("POST", "/upload/new", h(mintJWT(t, kid, secret, uploadClaims(now, nil))), strings.NewReader(`{"content":{"a":1},"description":"unsigned"}`))
	if r.status != 422 || r.reason(t) != "PARAM_MISMATCH" {
		t.Errorf("an unsigned description: %d %s", r.status, r.body)
	}
	jwt := mintJWT(t, kid, secret, uploadClaims(now, map[string]any{"fileName": "s.txt"}))
	ct, body := multipartBody(t, [][2]string{{"token", jwt}}, filePart{name: "s.txt", data: []byte("one")}, filePart{name: "t.txt", data: []byte("two")})
	r = e.do("POST", "/upload", map[string]string{"Content-Type": ct}, bytes.NewReader(body))
	if r.status != 422 || r.reason(t) != "PARAM_MISMATCH" {
		t.Errorf("two files with a one-file JWT: %d %s", r.status, r.body)
	}
	r = e.jwtUpload(mintJWT(t, kid, secret, uploadClaims(now, nil)), nil, "a/evil.html", []byte("<script></script>"))
	if r.status != 422 || r.reason(t) != "PARAM_MISMATCH" {
		t.Errorf("a directory path with a JWT: %d %s", r.status, r.body)
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 0 {
		t.Fatalf("%d pins recorded by refused JWT uploads", n)
	}
}
