package server_test

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/token"
)

// sign asks for a Pinata signed upload URL and returns it parsed.
func (e *env) sign(path string, body map[string]any) *url.URL {
	e.t.Helper()
	var signed string
	e.send("POST", path, e.key, body).data(e.t, 200, &signed)
	u, err := url.Parse(signed)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func TestAPinataSignedURLIsAnUploadTokenWithExactlyItsConstraints(t *testing.T) {
	c := &clock{}
	e := newEnv(t, withClock(c))
	var group struct{ ID string }
	e.send("POST", "/v3/groups/public", e.key, map[string]any{"name": "from browsers"}).data(t, 200, &group)
	u := e.sign("/v3/files/sign", map[string]any{
		"date": c.now().Unix(), "expires": 60, "filename": "signed.txt", "keyvalues": map[string]any{"origin": "browser"},
		"group_id": group.ID, "max_file_size": 100, "allow_mime_types": []string{"text/*"}, "network": "public",
	})
	tok := u.Query().Get("token")
	if u.Path != "/v3/files" || !strings.HasPrefix(tok, "sup_") || !strings.HasPrefix(e.http.URL, u.Scheme+"://"+u.Host) {
		t.Fatalf("signed URL %s: want this server's /v3/files with an upload token", u)
	}
	// The URL alone uploads: no header, or the SDK's "Bearer undefined".
	// The form's name, keyvalues and group are ignored, as Pinata does: the
	// signed ones apply.
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer undefined"}} {
		r := e.postForm(u.RequestURI(), h, file("IMG_0001.txt", []byte("hello from a browser")),
			field("network", "public"), field("name", "client's name"), field("keyvalues", `{"origin":"forged"}`), field("group_id", "grp_other"))
		var f v3File
		r.data(t, 200, &f)
		if f.Name != "signed.txt" || f.Keyvalues["origin"] != "browser" || f.GroupID == nil || *f.GroupID != group.ID {
			t.Fatalf("upload with headers %v: %+v, want the signed name, keyvalues and group", h, f)
		}
		if back := e.get("/ipfs/"+f.CID, ""); string(back.body) != "hello from a browser" {
			t.Fatal("the signed upload does not read back")
		}
	}
	// A page on another origin may use it: the SDK's preflight asks for
	// Authorization and its Source header.
	pre := e.do("OPTIONS", u.RequestURI(), map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization,source"}, nil)
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Source") {
		t.Fatalf("preflight of the signed URL: %d %v", pre.status, pre.header)
	}
	refusals := []struct {
		name   string
		data   []byte
		status int
		reason string
	}{
		{"a file over max_file_size", bytes.Repeat([]byte("a"), 101), 413, "SIZE_EXCEEDED"},
		{"a file whose bytes are not an allowed type", []byte("\x89PNG\r\n\x1a\n not text"), 415, "MIME_NOT_ALLOWED"},
	}
	for _, tc := range refusals {
		r := e.postForm(u.RequestURI(), nil, formPart{name: "file", file: &filePart{name: "x.txt", data: tc.data, typ: "text/plain"}})
		if r.status != tc.status || r.reason(t) != tc.reason {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.reason)
		}
	}
	// It is listed beside the other upload tokens, with its limits.
	var listed []map[string]any
	if err := jsonUnmarshal(e.get("/signed-tokens", e.key).body, &listed); err != nil || len(listed) != 1 {
		t.Fatalf("signed tokens: %v %v", listed, err)
	}
	tk := listed[0]
	if tk["tokenPrefix"] != token.DisplayPrefix(tok) || tk["useCount"] != 2.0 || tk["fileName"] != "signed.txt" ||
		tk["maxSizeMB"].(float64)*token.MB != 100 || tk["group"] != group.ID || tk["status"] != "active" {
		t.Fatalf("listed as %v", tk)
	}
	// Past date + expires it is refused.
	c.advance(61 * time.Second)
	if r := e.postForm(u.RequestURI(), nil, file("late.txt", []byte("late"))); r.status != 401 || r.reason(t) != "TOKEN_EXPIRED" {
		t.Fatalf("after it expired: %d %s", r.status, r.body)
	}
	// Revoked like any token; without the /v3 prefix the URL has none.
	u2 := e.sign("/files/sign", map[string]any{"date": c.now().Unix(), "expires": 60})
	if u2.Path != "/files" {
		t.Fatalf("signed at /files/sign: %s", u2)
	}
	var second []map[string]any
	jsonUnmarshal(e.get("/signed-tokens", e.key).body, &second)
	if r := e.do("DELETE", "/signed-tokens/"+second[0]["tokenId"].(string), bearer(e.key), nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.postForm(u2.RequestURI(), nil, file("x.txt", []byte("x"))); r.status != 401 || r.reason(t) != "TOKEN_REVOKED" {
		t.Fatalf("after its revocation: %d %s", r.status, r.body)
	}
}

func TestPinataSignRefusesWhatNinjaCannotSign(t *testing.T) {
	e := newEnv(t)
	now := time.Now().Unix()
	uploadOnly := e.mintKey(e.acct.ID, token.ScopeUpload)
	cases := []struct {
		name   string
		key    string
		body   map[string]any
		status int
		detail string
	}{
		{"the private network", e.key, map[string]any{"date": now, "expires": 60, "network": "private"}, 400, "private"},
		{"a private gateway link (url and method)", e.key, map[string]any{"url": "https://gw/files/bafy", "date": now, "expires": 30, "method": "GET"}, 400, "private"},
		{"no expires", e.key, map[string]any{"date": now}, 400, "expires"},
		{"a URL already expired", e.key, map[string]any{"date": now - 100, "expires": 60}, 400, "past"},
		{"a MIME pattern that is not one", e.key, map[string]any{"date": now, "expires": 60, "allow_mime_types": []string{"not a type"}}, 400, ""},
		{"a group the account does not have", e.key, map[string]any{"date": now, "expires": 60, "group_id": "grp_nope"}, 404, "grp_nope"},
		{"a key that may not issue tokens", uploadOnly, map[string]any{"date": now, "expires": 60}, 403, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.send("POST", "/v3/files/sign", tc.key, tc.body)
			if r.status != tc.status || !strings.Contains(r.details(t), tc.detail) {
				t.Fatalf("%d %s, want %d mentioning %q", r.status, r.body, tc.status, tc.detail)
			}
		})
	}
	if r := e.send("POST", "/v3/files/private/download_link", e.key, map[string]any{"cid": "bafy", "expires": 30}); r.status != 400 || !strings.Contains(r.details(t), "private") {
		t.Fatalf("download_link: %d %s", r.status, r.body)
	}
}
