package server_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/app"
)

func TestATusUploadResumesAfterARestartFromTheBytesOnDisk(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	f := fx.Files[5] // 10 MiB
	data := fixtureBytes(f.Seed, f.Size)
	m := e.newToken(map[string]any{"expiresIn": 3600, "maxUploads": 1})
	tok := m["token"].(string)
	r, path := e.tusCreate(tok, len(data), map[string]string{"filename": "big.bin"})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	half := len(data) / 2
	if p := e.tusPatch(tok, path, 0, data[:half]); p.status != http.StatusNoContent {
		t.Fatalf("first half: %d %s", p.status, p.body)
	}
	e.restart()
	// The reservation came back with the upload: the token's only use is held.
	wantRefusal(t, "another upload after the restart", e.tokenUpload(tok, "x", []byte("x"), nil), http.StatusForbidden, "TOKEN_EXHAUSTED")
	h := e.do("HEAD", path, tusAuth(tok), nil)
	if h.status != http.StatusOK || h.header.Get("Upload-Offset") != strconv.Itoa(half) || h.header.Get("Upload-Length") != strconv.Itoa(len(data)) {
		t.Fatalf("HEAD after restart: %d, offset %q, length %q", h.status, h.header.Get("Upload-Offset"), h.header.Get("Upload-Length"))
	}
	last := e.tusPatch(tok, path, half, data[half:])
	if last.status != http.StatusNoContent || last.header.Get("Upload-CID") != f.V1 {
		t.Fatalf("second half: %d, CID %q, want %s: %s", last.status, last.header.Get("Upload-CID"), f.V1, last.body)
	}
	if back := e.get("/ipfs/"+f.V1, ""); !bytes.Equal(back.body, data) {
		t.Fatalf("gateway: %d bytes differ from the upload", len(back.body))
	}
	if rec := e.tokenRecord(m["tokenId"].(string)); rec.UseCount != 1 {
		t.Fatalf("use count %d, want 1", rec.UseCount)
	}
}

// Pinata's SDK (pinata@2.5.6, files over 90 MiB) sends its own metadata
// keys, no Tus-Resumable, 50 MiB + 1 chunks, and reads "upload-cid" from
// the final 204.
func TestPinatasTusRequestsWorkAsItsSDKSendsThem(t *testing.T) {
	// The SDK creates at {uploadUrl}/files, POST /v3/files; POST /tus/
	// takes the same request.
	for _, create := range []string{"/v3/files", "/tus/"} {
		t.Run(create, func(t *testing.T) { pinataTus(t, create) })
	}
}

func pinataTus(t *testing.T, create string) {
	e := newEnv(t)
	data := fixtureBytes(9, 3<<20+5)
	meta := tusMeta(map[string]string{"filename": "pinata.bin", "filetype": "application/octet-stream", "network": "public",
		"keyvalues": `{"env":"prod"}`, "cid_version": "1"})
	h := map[string]string{"Authorization": "Bearer " + e.key, "Upload-Length": strconv.Itoa(len(data)), "Upload-Metadata": meta}
	r := e.do("POST", create+"?X-Upload-Option-Cid-Version=1", h, nil)
	loc := r.header.Get("Location")
	if r.status != http.StatusCreated || !strings.HasPrefix(loc, e.http.URL+"/tus/") {
		t.Fatalf("create without Tus-Resumable: %d %s", r.status, r.body)
	}
	chunk := 1<<20 + 1
	var last response
	for off := 0; off < len(data); off += chunk {
		req, _ := http.NewRequest("PATCH", loc, bytes.NewReader(data[off:min(off+chunk, len(data))]))
		req.Header.Set("Authorization", "Bearer "+e.key)
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		req.Header.Set("Upload-Offset", strconv.Itoa(off))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last = response{status: resp.StatusCode, header: resp.Header}
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("PATCH at %d: %d", off, resp.StatusCode)
		}
	}
	cid := last.header.Get("upload-cid")
	if cid == "" {
		t.Fatalf("the final 204 has no upload-cid: %v", last.header)
	}
	pins, err := e.store.PinsByCID(e.acct.ID, cid)
	if err != nil || len(pins) != 1 || pins[0].Name != "pinata.bin" || pins[0].Metadata["env"] != "prod" {
		t.Fatalf("pin %+v, %v: want the name and keyvalues from the metadata", pins, err)
	}
}

func TestLocationIsUnderThePublicURLOrTheTrustedProxysHost(t *testing.T) {
	e := newEnv(t, withPublicURL("https://pin.example.com/"))
	r, _ := e.tusCreate(e.key, 10, nil)
	if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "https://pin.example.com/tus/tus_") {
		t.Fatalf("Location %q, want under the public URL", loc)
	}
	p := newEnv(t, withProxies("127.0.0.0/8"))
	h := with(tusAuth(p.key), "Upload-Length", "10", "X-Forwarded-Host", "uploads.example.org", "X-Forwarded-Proto", "https")
	if loc := p.do("POST", "/tus/", h, nil).header.Get("Location"); !strings.HasPrefix(loc, "https://uploads.example.org/tus/") {
		t.Fatalf("Location %q behind a trusted proxy, want its forwarded host", loc)
	}
	// From an untrusted peer the forwarded host is ignored.
	q := newEnv(t)
	h["Authorization"] = "Bearer " + q.key
	if loc := q.do("POST", "/tus/", h, nil).header.Get("Location"); !strings.HasPrefix(loc, q.http.URL+"/tus/") {
		t.Fatalf("Location %q from an untrusted peer, want the host it reached (%s)", loc, q.http.URL)
	}
}

func TestBrowsersMaySendAndReadTheTusHeaders(t *testing.T) {
	e := newEnv(t)
	pre := e.do("OPTIONS", "/tus/", map[string]string{"Origin": "https://app.example.com",
		"Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "tus-resumable,upload-offset,upload-checksum"}, nil)
	if pre.status != http.StatusNoContent {
		t.Fatalf("preflight: %d", pre.status)
	}
	allow := strings.ToLower(pre.header.Get("Access-Control-Allow-Headers"))
	for _, want := range []string{"tus-resumable", "upload-length", "upload-offset", "upload-metadata", "upload-checksum", "authorization"} {
		if !strings.Contains(allow, want) {
			t.Errorf("Access-Control-Allow-Headers %q lacks %s", allow, want)
		}
	}
	for _, m := range []string{"PATCH", "DELETE", "HEAD", "POST"} {
		if !strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), m) {
			t.Errorf("Access-Control-Allow-Methods %q lacks %s", pre.header.Get("Access-Control-Allow-Methods"), m)
		}
	}
	data := []byte("hello from a browser")
	h := with(tusAuth(e.key), "Origin", "https://app.example.com", "Upload-Length", strconv.Itoa(len(data)),
		"Content-Type", "application/offset+octet-stream")
	r := e.do("POST", "/tus/", h, bytes.NewReader(data))
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("Access-Control-Allow-Origin %q", r.header.Get("Access-Control-Allow-Origin"))
	}
	expose := strings.ToLower(r.header.Get("Access-Control-Expose-Headers"))
	for _, want := range []string{"location", "upload-offset", "upload-cid", "upload-expires", "tus-resumable", "upload-length"} {
		if !strings.Contains(expose, want) {
			t.Errorf("Access-Control-Expose-Headers %q lacks %s", expose, want)
		}
	}
}

func TestOnlyTheRequestThatPinsATusUploadCountsAsAnUpload(t *testing.T) {
	e := newEnv(t)
	data := fixtureBytes(11, 50_000)
	e.tusUpload(e.key, data, 10_000, nil) // a creation and five chunks
	// A creation that carries the whole file is the upload too.
	small := []byte("all in the creation")
	h := with(tusAuth(e.key), "Upload-Length", strconv.Itoa(len(small)), "Content-Type", "application/offset+octet-stream")
	if r := e.do("POST", "/tus", h, bytes.NewReader(small)); r.status != http.StatusCreated || r.header.Get("Upload-CID") == "" {
		t.Fatalf("creation with the whole file: %d %s", r.status, r.body)
	}
	e.flushEvents()
	day := time.Now().UTC().Format("2006-01-02")
	a := e.get("/analytics?from="+day+"&to="+day, e.admin).json(t)
	totals := a["totals"].(map[string]any)
	if totals["uploads"] != float64(2) || totals["failedUploads"] != float64(0) ||
		totals["bytesUploaded"] != float64(len(data)+len(small)) || totals["requests"] != float64(7) {
		t.Fatalf("analytics totals %v: want two uploads of %d bytes, no failure, seven requests", totals, len(data)+len(small))
	}
}

func TestAnUploadJWTContinuesTheUploadItCreatedButNoOther(t *testing.T) {
	e := newEnv(t)
	kid, secret := e.signingKey()
	jwt := mintJWT(t, kid, secret, uploadClaims(time.Now(), map[string]any{"fileName": "signed.txt"}))
	data := []byte(strings.Repeat("signed by the backend\n", 50))
	last := e.tusUpload(jwt, data, 300, map[string]string{"filename": "signed.txt"})
	if last.header.Get("Upload-CID") == "" {
		t.Fatalf("an upload JWT's tus upload: %d %s", last.status, last.body)
	}
	// Its jti is spent: it creates nothing more, and continues no other upload.
	again, _ := e.tusCreate(jwt, 10, map[string]string{"filename": "signed.txt"})
	wantRefusal(t, "a second creation with the JWT", again, http.StatusConflict, "TOKEN_REPLAYED")
	_, other := e.tusCreate(e.key, 10, nil)
	wantRefusal(t, "the JWT on another upload", e.tusPatch(jwt, other, 0, []byte("0123456789")), http.StatusConflict, "TOKEN_REPLAYED")
}

// A connection that drops in the middle of a PATCH keeps what arrived:
// HEAD says so, and the rest completes the upload to the same CID.
func TestAPatchCutMidBodyKeepsTheBytesThatArrived(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	f := fx.Files[5] // 10 MiB
	data := fixtureBytes(f.Seed, f.Size)
	_, path := e.tusCreate(e.key, len(data), nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	sent := 6<<20 + 12345
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\n"+
		"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: %d\r\n\r\n", path, e.key, len(data))
	if _, err := conn.Write(data[:sent]); err != nil {
		t.Fatal(err)
	}
	conn.Close() // the network goes
	// A HEAD would interrupt the PATCH still reading what was sent (tusd's
	// lock asks the holder to stop), so wait for the server to have it all.
	file := filepath.Join(app.Layout{Dir: e.dir}.Tus(), path[strings.LastIndex(path, "/")+1:])
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(file); err == nil && fi.Size() == int64(sent) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not keep the %d bytes sent before the cut", sent)
		}
	}
	h := e.do("HEAD", path, tusAuth(e.key), nil)
	if got := h.header.Get("Upload-Offset"); got != strconv.Itoa(sent) {
		t.Fatalf("HEAD after the cut: offset %q, want %d", got, sent)
	}
	last := e.tusPatch(e.key, path, sent, data[sent:])
	if last.status != http.StatusNoContent || last.header.Get("Upload-CID") != f.V1 {
		t.Fatalf("the rest: %d, CID %q, want %s: %s", last.status, last.header.Get("Upload-CID"), f.V1, last.body)
	}
}
