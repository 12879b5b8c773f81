package server_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/token"
)

func withResumable(c pinning.ResumableConfig) envOption {
	return func(o *app.Options) { o.Resumable = c }
}

// wantRefusal checks a refusal's status and reason.
func wantRefusal(t *testing.T, what string, r response, status int, reason string) {
	t.Helper()
	if r.status != status || r.reason(t) != reason {
		t.Fatalf("%s: %d %s, want %d %s", what, r.status, r.body, status, reason)
	}
}

func TestATokensUseIsReservedAtCreationReleasedByTerminationAndCountedAtCompletion(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"expiresIn": 3600, "maxUploads": 1})
	tok, id := m["token"].(string), m["tokenId"].(string)
	data := []byte(strings.Repeat("resumable bytes\n", 100))

	r, path := e.tusCreate(tok, len(data), map[string]string{"filename": "a.txt"})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	// The open upload's length counts as the account's storage.
	q := e.get("/admin/accounts/default/quota", e.admin).json(t)
	if got := q["usage"].(map[string]any)["partialBytes"]; got != float64(len(data)) {
		t.Fatalf("usage.partialBytes %v while the upload is open, want %d", got, len(data))
	}
	// The one use is held: a second tus upload and a plain upload are refused.
	second, _ := e.tusCreate(tok, 10, nil)
	wantRefusal(t, "a second tus upload", second, http.StatusForbidden, "TOKEN_EXHAUSTED")
	wantRefusal(t, "a multipart upload", e.tokenUpload(tok, "b.txt", []byte("b"), nil), http.StatusForbidden, "TOKEN_EXHAUSTED")
	// Terminated, the use is back, and was never counted.
	if del := e.do("DELETE", path, tusAuth(tok), nil); del.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", del.status, del.body)
	}
	if head := e.do("HEAD", path, tusAuth(tok), nil); head.status != http.StatusNotFound {
		t.Fatalf("HEAD after DELETE: %d", head.status)
	}
	if rec := e.tokenRecord(id); rec.UseCount != 0 {
		t.Fatalf("use count %d after termination, want 0", rec.UseCount)
	}
	last := e.tusUpload(tok, data, 1000, map[string]string{"filename": "a.txt"})
	if last.header.Get("Upload-CID") == "" {
		t.Fatalf("the upload after the release has no CID: %v", last.header)
	}
	if rec := e.tokenRecord(id); rec.UseCount != 1 || rec.BytesUploaded != int64(len(data)) {
		t.Fatalf("token after completion: uses %d, bytes %d; want 1 and %d", rec.UseCount, rec.BytesUploaded, len(data))
	}
	wantRefusal(t, "a tus upload once the use is counted", first(e.tusCreate(tok, 10, nil)), http.StatusForbidden, "TOKEN_EXHAUSTED")
}

func first(r response, _ string) response { return r }

func TestTusCreationChecksTheTokensLimitsBeforeAnyByte(t *testing.T) {
	e := newEnv(t)
	e.setQuota(t, map[string]any{"maxStoredBytes": 5 << 20})
	for _, tc := range []struct {
		name   string
		token  map[string]any
		length int
		meta   map[string]string
		status int
		reason string
	}{
		{"an Upload-Length over maxSizeMB", map[string]any{"maxSizeMB": 1}, 1<<20 + 1, nil, 413, "SIZE_EXCEEDED"},
		{"an Upload-Length over maxTotalMB", map[string]any{"maxTotalMB": 1}, 2 << 20, nil, 413, "SIZE_EXCEEDED"},
		{"a declared type not allowed", map[string]any{"allowedMimeTypes": []string{"image/*"}}, 10, map[string]string{"filetype": "text/plain"}, 415, "MIME_NOT_ALLOWED"},
		{"a name other than the bound one", map[string]any{"fileName": "bound.png"}, 10, map[string]string{"filename": "other.png"}, 422, "PARAM_MISMATCH"},
		{"a client address outside ipWhitelist", map[string]any{"ipWhitelist": []string{"10.0.0.0/8"}}, 10, nil, 403, "IP_NOT_ALLOWED"},
		{"no Origin with allowedOrigins", map[string]any{"allowedOrigins": []string{"https://app.example.com"}}, 10, nil, 403, "ORIGIN_NOT_ALLOWED"},
		{"a length past the account's storage quota", map[string]any{}, 6 << 20, nil, 409, "INSUFFICIENT_FUNDS"},
		{"a file name that is a path traversal", map[string]any{}, 10, map[string]string{"filename": "../x"}, 400, "BAD_REQUEST"},
		{"a malformed metadata object", map[string]any{}, 10, map[string]string{"metadata": "[1]"}, 400, "BAD_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.token["expiresIn"] = 3600
			m := e.newToken(tc.token)
			r, _ := e.tusCreate(m["token"].(string), tc.length, tc.meta)
			wantRefusal(t, "create", r, tc.status, tc.reason)
			if r.header.Get("Location") != "" {
				t.Errorf("a refused creation has a Location: %s", r.header.Get("Location"))
			}
			if u, _ := e.store.AccountUsage(e.acct.ID); u.PartialBytes != 0 {
				t.Errorf("a refused creation left %d partial bytes counted", u.PartialBytes)
			}
			if rec := e.tokenRecord(m["tokenId"].(string)); rec.UseCount != 0 || rec.Failures[tc.reason] != 1 {
				t.Errorf("token: uses %d, failures %v; want 0 and one %s", rec.UseCount, rec.Failures, tc.reason)
			}
		})
	}
}

func TestTheFirstBytesOfATusUploadAreSniffedAsSoonAsTheyArrive(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"expiresIn": 3600, "allowedMimeTypes": []string{"image/png"}, "maxUploads": 1})
	tok := m["token"].(string)
	// Declared a PNG of 1 MiB, the first chunk is a Windows executable.
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 1000)...)
	r, path := e.tusCreate(tok, 1<<20, map[string]string{"filename": "x.png", "filetype": "image/png"})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	wantRefusal(t, "the first chunk", e.tusPatch(tok, path, 0, exe), http.StatusUnsupportedMediaType, "MIME_NOT_ALLOWED")
	// The upload is gone, its bytes too, and its use is given back.
	if head := e.do("HEAD", path, tusAuth(tok), nil); head.status != http.StatusNotFound {
		t.Fatalf("HEAD of the refused upload: %d", head.status)
	}
	if files, _ := os.ReadDir(app.Layout{Dir: e.dir}.Tus()); len(files) != 0 {
		t.Fatalf("%d files left in tus/", len(files))
	}
	if rec := e.tokenRecord(m["tokenId"].(string)); rec.UseCount != 0 || rec.Failures["MIME_NOT_ALLOWED"] != 1 {
		t.Fatalf("token: uses %d, failures %v", rec.UseCount, rec.Failures)
	}
	png := append(pngBytes(), make([]byte, 4000)...)
	if last := e.tusUpload(tok, png, 1000, map[string]string{"filename": "x.png", "filetype": "image/png"}); last.header.Get("Upload-CID") == "" {
		t.Fatalf("a real PNG after the refusal: %v", last.header)
	}
}

func TestATusUploadIsOnlyVisibleToTheCredentialThatCreatedIt(t *testing.T) {
	e := newEnv(t)
	other := e.mintKey(e.acct.ID, token.ScopeUpload) // same account, another key
	tok := e.newToken(map[string]any{"expiresIn": 3600})["token"].(string)
	r, path := e.tusCreate(e.key, 100, nil)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	for _, cred := range []string{other, tok} {
		if h := e.do("HEAD", path, tusAuth(cred), nil); h.status != http.StatusNotFound {
			t.Errorf("HEAD by another credential: %d, want 404", h.status)
		}
		wantRefusal(t, "PATCH by another credential", e.tusPatch(cred, path, 0, []byte("x")), http.StatusNotFound, "NOT_FOUND")
		wantRefusal(t, "DELETE by another credential", e.do("DELETE", path, tusAuth(cred), nil), http.StatusNotFound, "NOT_FOUND")
	}
	if h := e.do("HEAD", path, tusAuth(e.key), nil); h.status != http.StatusOK || h.header.Get("Upload-Offset") != "0" {
		t.Fatalf("HEAD by its creator after the others tried: %d, offset %q", h.status, h.header.Get("Upload-Offset"))
	}
}

func TestARevokedOrExpiredTokenCannotContinueItsUpload(t *testing.T) {
	c := &clock{}
	e := newEnv(t, withClock(c))
	data := bytes.Repeat([]byte("z"), 3000)
	start := func(expiresIn int) (string, string, string) {
		m := e.newToken(map[string]any{"expiresIn": expiresIn})
		tok := m["token"].(string)
		r, path := e.tusCreate(tok, len(data), nil)
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		if p := e.tusPatch(tok, path, 0, data[:1000]); p.status != http.StatusNoContent {
			t.Fatalf("first chunk: %d %s", p.status, p.body)
		}
		return tok, m["tokenId"].(string), path
	}
	tok, id, path := start(3600)
	if del := e.do("DELETE", "/signed-tokens/"+id, map[string]string{"X-Api-Key": e.key}, nil); del.status != 200 {
		t.Fatalf("revoke: %d", del.status)
	}
	wantRefusal(t, "PATCH after revocation", e.tusPatch(tok, path, 1000, data[1000:]), http.StatusUnauthorized, "TOKEN_REVOKED")

	tok, _, path = start(60)
	// The upload expires with its token, not 24 h later.
	r := e.do("HEAD", path, tusAuth(tok), nil)
	exp, err := http.ParseTime(r.header.Get("Upload-Expires"))
	if err != nil || exp.After(time.Now().Add(61*time.Second)) {
		t.Fatalf("Upload-Expires %q (%v): want within the token's 60 s", r.header.Get("Upload-Expires"), err)
	}
	c.advance(2 * time.Minute)
	wantRefusal(t, "PATCH after expiry", e.tusPatch(tok, path, 1000, data[1000:]), http.StatusUnauthorized, "TOKEN_EXPIRED")
}

func TestAChunkWhoseChecksumDiffersIsDiscarded(t *testing.T) {
	e := newEnv(t)
	data := bytes.Repeat([]byte("checksum"), 500)
	_, path := e.tusCreate(e.key, len(data), nil)
	bad := sha256Header([]byte("something else"))
	r := e.tusPatch(e.key, path, 0, data[:2000], "Upload-Checksum", bad)
	if r.status != 460 || r.reason(t) != "CHECKSUM_MISMATCH" {
		t.Fatalf("a wrong checksum: %d %s, want 460 CHECKSUM_MISMATCH", r.status, r.body)
	}
	if h := e.do("HEAD", path, tusAuth(e.key), nil); h.header.Get("Upload-Offset") != "0" {
		t.Fatalf("offset %q after a discarded chunk, want 0", h.header.Get("Upload-Offset"))
	}
	wantRefusal(t, "an algorithm not offered", e.tusPatch(e.key, path, 0, data, "Upload-Checksum", "crc32 AAAAAA=="), http.StatusBadRequest, "BAD_REQUEST")
	wantRefusal(t, "a wrong offset", e.tusPatch(e.key, path, 7, data), http.StatusConflict, "OFFSET_MISMATCH")
	if last := e.tusPatch(e.key, path, 0, data, "Upload-Checksum", sha256Header(data)); last.header.Get("Upload-CID") == "" {
		t.Fatalf("the right checksum: %d %s", last.status, last.body)
	}
}

func TestTusCreationIsRateLimited(t *testing.T) {
	e := newEnv(t, withRateLimits(pinning.RateLimits{UploadsPerCredential: pinning.Rate{PerSecond: 0.001, Burst: 2}}))
	for i := range 2 {
		if r, _ := e.tusCreate(e.key, 10, nil); r.status != http.StatusCreated {
			t.Fatalf("creation %d within the burst: %d %s", i, r.status, r.body)
		}
	}
	r, _ := e.tusCreate(e.key, 10, nil)
	wantRefusal(t, "past the burst", r, http.StatusTooManyRequests, "RATE_LIMITED")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After")
	}
}

func TestAnIncompleteUploadExpiresAndItsBytesAndUseGo(t *testing.T) {
	c := &clock{}
	e := newEnv(t, withClock(c), withResumable(pinning.ResumableConfig{TTL: time.Hour, SweepInterval: -1}))
	m := e.newToken(map[string]any{"expiresIn": "7d", "maxUploads": 1})
	tok := m["token"].(string)
	r, path := e.tusCreate(tok, 5000, nil)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	exp, _ := http.ParseTime(r.header.Get("Upload-Expires"))
	if d := time.Until(exp); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("Upload-Expires %q is not the configured hour away", r.header.Get("Upload-Expires"))
	}
	e.tusPatch(tok, path, 0, make([]byte, 2000))
	file := filepath.Join(app.Layout{Dir: e.dir}.Tus(), path[strings.LastIndex(path, "/")+1:])
	if fi, err := os.Stat(file); err != nil || fi.Size() != 2000 {
		t.Fatalf("partial file: %v %v", fi, err)
	}
	if n, _ := e.svc.SweepResumables(t.Context()); n != 0 {
		t.Fatalf("swept %d uploads before their time", n)
	}
	c.advance(61 * time.Minute)
	if n, err := e.svc.SweepResumables(t.Context()); n != 1 || err != nil {
		t.Fatalf("swept %d (%v), want the expired one", n, err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("the expired upload's bytes are still there: %v", err)
	}
	if h := e.do("HEAD", path, tusAuth(tok), nil); h.status != http.StatusNotFound {
		t.Fatalf("HEAD of the expired upload: %d", h.status)
	}
	if rec := e.tokenRecord(m["tokenId"].(string)); rec.UseCount != 0 || rec.Failures["UPLOAD_EXPIRED"] != 1 {
		t.Fatalf("token: %d uses, failures %v", rec.UseCount, rec.Failures)
	}
	if up := e.tokenUpload(tok, "a.txt", []byte("a"), nil); up.status != 200 {
		t.Fatalf("the released use: %d %s", up.status, up.body)
	}
}

func TestAnOpenTusUploadsLengthIsTakenFromTheTokensTotal(t *testing.T) {
	e := newEnv(t)
	m := e.newToken(map[string]any{"expiresIn": 3600, "maxTotalMB": 1})
	tok := m["token"].(string)
	tusData := fixtureBytes(21, 600_000)
	r, path := e.tusCreate(tok, len(tusData), nil)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	// 600,000 of the 1 MiB are the open upload's: 600,000 more do not fit.
	wantRefusal(t, "a multipart upload past what is left", e.tokenUpload(tok, "b.bin", fixtureBytes(22, 600_000), nil),
		http.StatusRequestEntityTooLarge, "SIZE_EXCEEDED")
	if last := e.tusPatch(tok, path, 0, tusData); last.status != http.StatusNoContent || last.header.Get("Upload-CID") == "" {
		t.Fatalf("the tus upload within its reservation: %d %s", last.status, last.body)
	}
	if up := e.tokenUpload(tok, "c.bin", fixtureBytes(23, 400_000), nil); up.status != http.StatusOK {
		t.Fatalf("what is left after it: %d %s", up.status, up.body)
	}
	if rec := e.tokenRecord(m["tokenId"].(string)); rec.BytesUploaded != 1_000_000 || rec.UseCount != 2 {
		t.Fatalf("token: %d bytes in %d uses, want 1,000,000 in 2", rec.BytesUploaded, rec.UseCount)
	}
}

func TestEveryTusRequestChecksTheClientAddressAndOrigin(t *testing.T) {
	e := newEnv(t, withProxies("127.0.0.0/8"))
	data := []byte(strings.Repeat("checked every time\n", 10))
	m := e.newToken(map[string]any{"expiresIn": 3600, "ipWhitelist": []string{"10.0.0.0/8"},
		"allowedOrigins": []string{"https://app.example.com"}})
	tok := m["token"].(string)
	ok := map[string]string{"X-Forwarded-For": "10.1.2.3", "Origin": "https://app.example.com"}
	h := with(tusAuth(tok), "Upload-Length", strconv.Itoa(len(data)), "X-Forwarded-For", ok["X-Forwarded-For"], "Origin", ok["Origin"])
	r := e.do("POST", "/tus/", h, nil)
	if r.status != http.StatusCreated {
		t.Fatalf("create from an allowed address and origin: %d %s", r.status, r.body)
	}
	path := r.header.Get("Location")[strings.Index(r.header.Get("Location"), "/tus/"):]
	wantRefusal(t, "PATCH from another address", e.tusPatch(tok, path, 0, data, "X-Forwarded-For", "192.0.2.1", "Origin", ok["Origin"]),
		http.StatusForbidden, "IP_NOT_ALLOWED")
	wantRefusal(t, "PATCH without the origin", e.tusPatch(tok, path, 0, data, "X-Forwarded-For", ok["X-Forwarded-For"]),
		http.StatusForbidden, "ORIGIN_NOT_ALLOWED")
	if del := e.do("DELETE", path, with(tusAuth(tok), "X-Forwarded-For", "192.0.2.1", "Origin", ok["Origin"]), nil); del.status != http.StatusForbidden {
		t.Fatalf("DELETE from another address: %d, want 403", del.status)
	}
	last := e.tusPatch(tok, path, 0, data, "X-Forwarded-For", ok["X-Forwarded-For"], "Origin", ok["Origin"])
	if last.status != http.StatusNoContent || last.header.Get("Upload-CID") == "" {
		t.Fatalf("PATCH from the allowed address and origin: %d %s", last.status, last.body)
	}
}
