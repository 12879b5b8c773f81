package server_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/store"
)

// imageKitForm is the form ImageKit's client-upload docs build: the file
// first, then fileName and any other parameters, then the token.
func imageKitForm(t *testing.T, data []byte, fields [][2]string, jwt string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, err := mw.CreateFormFile("file", "blob")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	mw.WriteField("token", jwt)
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// imageKitClaims are a payload as the docs' jsonwebtoken call signs it:
// iat and exp as numbers, every parameter stringified, no jti.
func imageKitClaims(now time.Time, params map[string]any) map[string]any {
	c := map[string]any{"iat": now.Unix(), "exp": now.Add(400 * time.Second).Unix()}
	for k, v := range params {
		c[k] = v
	}
	return c
}

func TestImageKitClientUploadWorksAsItsDocsShow(t *testing.T) {
	e := newEnv(t)
	kid, secret := e.signingKey()
	now := time.Now()
	params := map[string]any{"fileName": "dress.jpg", "useUniqueFileName": "false", "tags": "summer,dress",
		"folder": "/images/summer/", "customMetadata": `{"brand":"acme","size":38}`}
	fields := [][2]string{{"fileName", "dress.jpg"}, {"useUniqueFileName", "false"}, {"tags", "summer,dress"},
		{"folder", "/images/summer/"}, {"customMetadata", `{"brand":"acme","size":38}`}}
	data := []byte("\xff\xd8\xff\xe0 a jpeg, as far as the sniffer cares")

	jwt := mintJWT(t, kid, secret, imageKitClaims(now, params))
	ct, body := imageKitForm(t, data, fields, jwt)
	r := e.do("POST", "/upload", map[string]string{"Content-Type": ct}, bytes.NewReader(body))
	if r.status != 200 {
		t.Fatalf("ImageKit's form (file, fileName, token): %d %s", r.status, r.body)
	}
	c := r.json(t)["cid"].(string)
	if got := e.get("/ipfs/"+c, ""); !bytes.Equal(got.body, data) {
		t.Fatal("the upload does not read back")
	}
	pins, _ := e.store.PinsByCID(e.acct.ID, c)
	if len(pins) != 1 {
		t.Fatalf("%d pins", len(pins))
	}
	p := pins[0]
	if p.Name != "images/summer/dress.jpg" || p.Metadata["tags"] != "summer,dress" || p.Metadata["brand"] != "acme" ||
		p.Metadata["size"] != "38" || p.Metadata["imagekit:useUniqueFileName"] != "false" {
		t.Fatalf("pin %q %v: the signed parameters were not applied as documented", p.Name, p.Metadata)
	}

	// The same token again: single use, by its hash.
	r = e.do("POST", "/upload", map[string]string{"Content-Type": ct}, bytes.NewReader(body))
	if r.status != 409 || r.reason(t) != "TOKEN_REPLAYED" {
		t.Fatalf("a replayed jti-less token: %d %s", r.status, r.body)
	}

	refusals := []struct {
		name   string
		fields [][2]string
	}{
		{"a fileName other than the signed one", [][2]string{{"fileName", "other.jpg"}}},
		{"a parameter the payload lacks", [][2]string{{"fileName", "dress.jpg"}, {"isPrivateFile", "true"}}},
		{"another value of a signed parameter", [][2]string{{"fileName", "dress.jpg"}, {"useUniqueFileName", "true"}}},
	}
	for i, tt := range refusals {
		// Tokens of the same payload signed in the same second are one
		// token (no jti tells them apart): sign each a second earlier.
		jwt := mintJWT(t, kid, secret, imageKitClaims(now.Add(-time.Duration(i+1)*time.Second), params))
		ct, body := imageKitForm(t, data, tt.fields, jwt)
		r := e.do("POST", "/upload", map[string]string{"Content-Type": ct}, bytes.NewReader(body))
		if r.status != 422 || r.reason(t) != "PARAM_MISMATCH" {
			t.Errorf("%s: %d %s, want 422", tt.name, r.status, r.body)
		}
		// Single use even after a failed first use.
		r = e.do("POST", "/upload", map[string]string{"Content-Type": ct}, bytes.NewReader(body))
		if r.status != 409 {
			t.Errorf("%s, sent again: %d, want 409 TOKEN_REPLAYED", tt.name, r.status)
		}
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 1 {
		t.Fatalf("%d pins, want the one accepted upload", n)
	}
}

func TestExactlyOneOfParallelUsesOfAJTILessTokenProceeds(t *testing.T) {
	e := newEnv(t)
	kid, secret := e.signingKey()
	jwt := mintJWT(t, kid, secret, imageKitClaims(time.Now(), map[string]any{"fileName": "once.txt"}))
	ct, body := imageKitForm(t, []byte("once"), [][2]string{{"fileName", "once.txt"}}, jwt)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", e.http.URL+"/upload", bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[200] != 1 || codes[409] != 15 {
		t.Fatalf("16 parallel uses of one token: %v, want one 200 and fifteen 409", codes)
	}
}

func TestFilesBeforeTheirTokenAreSpooledWithinABound(t *testing.T) {
	e := newEnv(t, func(o *app.Options) { o.Server.SpoolBytes = 1 << 20 })
	kid, secret := e.signingKey()
	jwt := mintJWT(t, kid, secret, imageKitClaims(time.Now(), map[string]any{"fileName": "big.bin"}))
	ct, body := imageKitForm(t, bytes.Repeat([]byte("x"), 2<<20), [][2]string{{"fileName", "big.bin"}}, jwt)
	r := e.do("POST", "/upload", map[string]string{"Content-Type": ct}, bytes.NewReader(body))
	if r.status != 413 || !strings.Contains(string(r.body), "token field before the files") {
		t.Fatalf("2 MiB before the token with a 1 MiB spool: %d %s", r.status, r.body)
	}
	// With the token first, the same file streams without a spool.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("token", mintJWT(t, kid, secret, imageKitClaims(time.Now(), map[string]any{"fileName": "big.bin"})))
	mw.WriteField("fileName", "big.bin")
	w, _ := mw.CreateFormFile("file", "big.bin")
	w.Write(bytes.Repeat([]byte("x"), 2<<20))
	mw.Close()
	if r := e.do("POST", "/upload", map[string]string{"Content-Type": mw.FormDataContentType()}, &buf); r.status != 200 {
		t.Fatalf("the token first: %d %s", r.status, r.body)
	}
}
