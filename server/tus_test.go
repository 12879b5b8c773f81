package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ninja-ipfs/ninja/app"
)

// tusMeta encodes Upload-Metadata: "key base64(value)" pairs, in key
// order.
func tusMeta(kv map[string]string) string {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + base64.StdEncoding.EncodeToString([]byte(kv[k]))
	}
	return strings.Join(parts, ",")
}

// tusAuth is the header a credential goes in: an API key or an upload
// token, both as a bearer.
func tusAuth(cred string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + cred, "Tus-Resumable": "1.0.0"}
}

func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// tusCreate creates an upload of length bytes and returns the response
// and the upload's path (from Location).
func (e *env) tusCreate(cred string, length int, meta map[string]string) (response, string) {
	e.t.Helper()
	h := with(tusAuth(cred), "Upload-Length", strconv.Itoa(length))
	if meta != nil {
		h["Upload-Metadata"] = tusMeta(meta)
	}
	r := e.do("POST", "/tus/", h, nil)
	loc := r.header.Get("Location")
	if i := strings.Index(loc, "/tus/"); i >= 0 {
		loc = loc[i:]
	}
	return r, loc
}

// tusPatch sends one chunk at offset.
func (e *env) tusPatch(cred, path string, offset int, chunk []byte, extra ...string) response {
	e.t.Helper()
	h := with(tusAuth(cred), append([]string{"Content-Type", "application/offset+octet-stream",
		"Upload-Offset", strconv.Itoa(offset)}, extra...)...)
	return e.do("PATCH", path, h, bytes.NewReader(chunk))
}

func sha256Header(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256 " + base64.StdEncoding.EncodeToString(sum[:])
}

// tusUpload uploads data in chunks of chunk bytes with checksums and
// returns the final PATCH's response.
func (e *env) tusUpload(cred string, data []byte, chunk int, meta map[string]string) response {
	e.t.Helper()
	r, path := e.tusCreate(cred, len(data), meta)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create: %d %s", r.status, r.body)
	}
	var last response
	for off := 0; off < len(data); off += chunk {
		part := data[off:min(off+chunk, len(data))]
		last = e.tusPatch(cred, path, off, part, "Upload-Checksum", sha256Header(part))
		if last.status != http.StatusNoContent {
			e.t.Fatalf("PATCH at %d: %d %s", off, last.status, last.body)
		}
		if got, want := last.header.Get("Upload-Offset"), strconv.Itoa(off+len(part)); got != want {
			e.t.Fatalf("Upload-Offset %s after the chunk at %d, want %s", got, off, want)
		}
	}
	return last
}

func TestATusUploadInChunksPinsTheFileWithKubosCID(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	for _, f := range fx.Files {
		if f.Size == 0 || f.Size > 10<<20 {
			continue
		}
		t.Run(fmt.Sprint(f.Size), func(t *testing.T) {
			data := fixtureBytes(f.Seed, f.Size)
			last := e.tusUpload(e.key, data, 400_000, map[string]string{"filename": "fixture.bin", "filetype": "application/octet-stream",
				"metadata": `{"app":"tus-test"}`})
			if got := last.header.Get("Upload-CID"); got != f.V1 {
				t.Fatalf("Upload-CID %q, want Kubo's %s", got, f.V1)
			}
			if back := e.get("/ipfs/"+f.V1, ""); !bytes.Equal(back.body, data) {
				t.Fatalf("the gateway returned %d bytes that differ from the %d uploaded", len(back.body), len(data))
			}
			pins, err := e.store.PinsByCID(e.acct.ID, f.V1)
			if err != nil || len(pins) != 1 {
				t.Fatalf("pins %v, %v; want one", pins, err)
			}
			if p := pins[0]; p.Name != "fixture.bin" || p.Metadata["app"] != "tus-test" || p.Size != int64(f.Size) {
				t.Errorf("pin record %+v", p)
			}
		})
	}
	// The bytes in transit live in the data directory, owner only, and are
	// gone once pinned.
	dir := app.Layout{Dir: e.dir}.Tus()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("tus/ is %v (%v), want a 0700 directory", fi, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d files left in tus/ after the uploads", len(left))
	}
}

func TestATusUploadCanAskForCIDv0AndSendItsBodyWithTheCreation(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	f := fx.Files[3] // 1 MiB
	data := fixtureBytes(f.Seed, f.Size)
	h := with(tusAuth(e.key), "Upload-Length", strconv.Itoa(len(data)), "Content-Type", "application/offset+octet-stream",
		"Upload-Metadata", tusMeta(map[string]string{"cidVersion": "0"}), "Upload-Checksum", sha256Header(data))
	r := e.do("POST", "/tus/", h, bytes.NewReader(data))
	if r.status != http.StatusCreated || r.header.Get("Upload-CID") != f.V0 {
		t.Fatalf("creation with the whole body: %d, Upload-CID %q, want 201 and %s: %s", r.status, r.header.Get("Upload-CID"), f.V0, r.body)
	}
	if r.header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
		t.Errorf("Upload-Offset %q", r.header.Get("Upload-Offset"))
	}
	// HEAD of the finished upload still says its CID.
	path := r.header.Get("Location")[strings.Index(r.header.Get("Location"), "/tus/"):]
	head := e.do("HEAD", path, tusAuth(e.key), nil)
	if head.status != http.StatusOK || head.header.Get("Upload-CID") != f.V0 || head.header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
		t.Fatalf("HEAD of the pinned upload: %d, CID %q, offset %q", head.status, head.header.Get("Upload-CID"), head.header.Get("Upload-Offset"))
	}
}

func TestTusDiscoveryNamesTheVersionExtensionsAndChecksums(t *testing.T) {
	e := newEnv(t, withMaxUpload(1<<30))
	r := e.do("OPTIONS", "/tus/", nil, nil)
	if r.status != http.StatusOK && r.status != http.StatusNoContent {
		t.Fatalf("OPTIONS: %d %s", r.status, r.body)
	}
	if got := r.header.Get("Tus-Version"); got != "1.0.0" {
		t.Errorf("Tus-Version %q", got)
	}
	ext := "," + r.header.Get("Tus-Extension") + ","
	for _, want := range []string{"creation", "creation-with-upload", "termination", "expiration", "checksum"} {
		if !strings.Contains(ext, ","+want+",") {
			t.Errorf("Tus-Extension %q lacks %s", r.header.Get("Tus-Extension"), want)
		}
	}
	if !strings.Contains(r.header.Get("Tus-Checksum-Algorithm"), "sha256") {
		t.Errorf("Tus-Checksum-Algorithm %q lacks sha256", r.header.Get("Tus-Checksum-Algorithm"))
	}
	if got := r.header.Get("Tus-Max-Size"); got != strconv.Itoa(1<<30) {
		t.Errorf("Tus-Max-Size %q, want the server's --max-upload", got)
	}
	// A version it does not speak is 412, saying which it does.
	old := e.do("POST", "/tus/", map[string]string{"Authorization": "Bearer " + e.key, "Tus-Resumable": "0.2.2", "Upload-Length": "1"}, nil)
	if old.status != http.StatusPreconditionFailed || old.reason(t) != "UNSUPPORTED_VERSION" || old.header.Get("Tus-Version") != "1.0.0" {
		t.Errorf("an old version: %d %s, Tus-Version %q", old.status, old.body, old.header.Get("Tus-Version"))
	}
}
