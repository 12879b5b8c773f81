package server_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ninja-ipfs/ninja/store"
)

func TestUploadNewStoresJSONContentAsItsText(t *testing.T) {
	e := newEnv(t, withPublicURL("https://gw.example.com/"))
	fx := loadFixtures(t)
	// The seed's request, verbatim; whitespace in the object must not change the CID.
	resp := e.postJSON("/upload/new", e.key, map[string]any{
		"content":     map[string]any{"name": "example"},
		"description": "My first upload",
		"metadata":    map[string]any{"app": "demo", "version": 2},
	})
	if resp.status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	m := resp.json(t)
	if got, want := m["cid"], fx.JSON.V1; got != want {
		t.Fatalf("cid = %v, want %v", got, want)
	}
	if got, want := m["size"], float64(18); got != want {
		t.Errorf("size = %v, want %v", got, want)
	}
	uris := m["uris"].(map[string]any)
	if got, want := uris["ipfs"], "ipfs://"+fx.JSON.V1; got != want {
		t.Errorf("uris.ipfs = %v, want %v", got, want)
	}
	if got, want := uris["url"], "https://gw.example.com/ipfs/"+fx.JSON.V1; got != want {
		t.Errorf("uris.url = %v, want %v", got, want)
	}
	if _, ok := m["sizeMB"].(float64); !ok {
		t.Errorf("sizeMB missing in %s", resp.body)
	}
	got := e.get("/ipfs/"+fx.JSON.V1, "")
	if got.status != 200 || string(got.body) != fx.JSON.Content {
		t.Fatalf("gateway: %d %q, want %q", got.status, got.body, fx.JSON.Content)
	}
	pins, err := e.store.PinsByCID(e.acct.ID, fx.JSON.V1)
	if err != nil || len(pins) != 1 {
		t.Fatalf("pins = %v, %v; want one", pins, err)
	}
	if pins[0].Description != "My first upload" || pins[0].Metadata["app"] != "demo" || pins[0].Metadata["version"] != "2" {
		t.Errorf("pin record = %+v", pins[0])
	}
}

func TestUploadNewDecodesBase64Files(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	for _, f := range fx.Files {
		if f.Size > 1<<20+1 {
			continue
		}
		t.Run(fmt.Sprint(f.Size), func(t *testing.T) {
			data := fixtureBytes(f.Seed, f.Size)
			resp := e.postJSON("/upload/new", e.key, map[string]any{"content": base64.StdEncoding.EncodeToString(data)})
			if resp.status != 200 {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			if got := resp.json(t)["cid"]; got != f.V1 {
				t.Fatalf("cid = %v, want %v", got, f.V1)
			}
			back := e.get("/ipfs/"+f.V1, "")
			if !bytes.Equal(back.body, data) {
				t.Fatalf("gateway returned %d bytes, want the %d uploaded", len(back.body), len(data))
			}
		})
	}
}

func TestUploadNewRejectsBadInputAndRecordsNothing(t *testing.T) {
	e := newEnv(t)
	manyKeys := map[string]any{}
	for i := 0; i < 65; i++ {
		manyKeys[fmt.Sprint("k", i)] = "v"
	}
	cases := []struct {
		name       string
		body       string
		wantStatus int
		wantReason string
	}{
		{"invalid base64 is INVALID_CONTENT", `{"content":"not base64!!"}`, 400, "INVALID_CONTENT"},
		{"missing content is INVALID_CONTENT", `{"description":"x"}`, 400, "INVALID_CONTENT"},
		{"a number as content is INVALID_CONTENT", `{"content":42}`, 400, "INVALID_CONTENT"},
		{"malformed JSON is BAD_REQUEST", `{"content":`, 400, "BAD_REQUEST"},
		{"metadata that is not an object is BAD_REQUEST", `{"content":{"a":1},"metadata":[1]}`, 400, "BAD_REQUEST"},
		{"metadata with too many keys is BAD_REQUEST", `{"content":{"a":1},"metadata":` + mustJSON(manyKeys) + `}`, 400, "BAD_REQUEST"},
		{"a name too long is BAD_REQUEST", `{"content":{"a":1},"name":"` + strings.Repeat("n", 256) + `"}`, 400, "BAD_REQUEST"},
		{"a description too long is BAD_REQUEST", `{"content":{"a":1},"description":"` + strings.Repeat("d", 4097) + `"}`, 400, "BAD_REQUEST"},
		{"a metadata value too long is BAD_REQUEST", `{"content":{"a":1},"metadata":{"k":"` + strings.Repeat("x", 3000) + `"}}`, 400, "BAD_REQUEST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", "/upload/new", map[string]string{"X-Api-Key": e.key, "Content-Type": "application/json"}, strings.NewReader(tc.body))
			if resp.status != tc.wantStatus || resp.reason(t) != tc.wantReason {
				t.Fatalf("got %d %s, want %d %s", resp.status, resp.body, tc.wantStatus, tc.wantReason)
			}
		})
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 0 {
		t.Fatalf("%d pins recorded after refused uploads, want 0", n)
	}
}

func TestMultipartSingleFileGivesKuboCIDs(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	for _, f := range fx.Files {
		data := fixtureBytes(f.Seed, f.Size)
		for _, v := range []struct{ query, want string }{{"", f.V1}, {"?cidVersion=0", f.V0}} {
			t.Run(fmt.Sprintf("%d bytes%s", f.Size, v.query), func(t *testing.T) {
				resp := e.upload(e.key, v.query, nil, filePart{name: "data.bin", data: data})
				if resp.status != 200 {
					t.Fatalf("status %d: %s", resp.status, resp.body)
				}
				m := resp.json(t)
				if m["cid"] != v.want {
					t.Fatalf("cid = %v, want %v", m["cid"], v.want)
				}
				if m["size"] != float64(f.Size) || m["name"] != "data.bin" {
					t.Errorf("size/name = %v/%v", m["size"], m["name"])
				}
			})
		}
	}
}

func TestMultipartCIDVersionAsFieldBeforeTheFile(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	f := fx.Files[2]
	resp := e.upload(e.key, "", [][2]string{{"cidVersion", "0"}, {"name", "named"}}, filePart{name: "x", data: fixtureBytes(f.Seed, f.Size)})
	if m := resp.json(t); m["cid"] != f.V0 || m["name"] != "named" {
		t.Fatalf("got %s, want cid %s named", resp.body, f.V0)
	}
}

func TestMultipartFolderGivesTheDirectoryCID(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	var files []filePart
	for _, f := range fx.Site.Files {
		files = append(files, filePart{name: "site/" + f.Path, data: fixtureBytes(f.Seed, f.Size)})
	}
	resp := e.upload(e.key, "", nil, files...)
	if m := resp.json(t); m["cid"] != fx.Site.Root || m["name"] != "site" || m["mimeType"] != "inode/directory" {
		t.Fatalf("got %s, want the site directory %s", resp.body, fx.Site.Root)
	}
	got := e.get("/ipfs/"+fx.Site.Root+"/sub/c.txt", "")
	if want := fixtureBytes(3, 10); !bytes.Equal(got.body, want) {
		t.Fatalf("gateway path read %q, want %q", got.body, want)
	}
	// Two plain files are wrapped in a directory, as `ipfs add -w` does.
	a, b := fx.Site.Files[0], fx.Site.Files[1]
	resp = e.upload(e.key, "", nil, filePart{name: "a.txt", data: fixtureBytes(a.Seed, a.Size)}, filePart{name: "b.bin", data: fixtureBytes(b.Seed, b.Size)})
	if m := resp.json(t); m["cid"] != fx.Site.WrappedAB {
		t.Fatalf("two files: got %s, want %s", resp.body, fx.Site.WrappedAB)
	}
}

func TestMultipartRejectsPathTraversal(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"../etc/passwd", "/abs.txt", "a//b", "a/./b", `a\b`} {
		resp := e.upload(e.key, "", nil, filePart{name: name, data: []byte("x")})
		if resp.status != 400 || resp.reason(t) != "BAD_REQUEST" {
			t.Errorf("%q: got %d %s, want 400 BAD_REQUEST", name, resp.status, resp.body)
		}
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 0 {
		t.Fatalf("%d pins recorded, want 0", n)
	}
}

func TestUploadOverTheSizeLimitIs413AndPinsNothing(t *testing.T) {
	e := newEnv(t, withMaxUpload(1<<20))
	resp := e.upload(e.key, "", nil, filePart{name: "big.bin", data: fixtureBytes(9, 1<<20+1)})
	if resp.status != 413 || resp.reason(t) != "SIZE_EXCEEDED" {
		t.Fatalf("got %d %s, want 413 SIZE_EXCEEDED", resp.status, resp.body)
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 0 {
		t.Fatalf("%d pins recorded, want 0", n)
	}
	ok := e.upload(e.key, "", nil, filePart{name: "fits.bin", data: fixtureBytes(9, 1<<20)})
	if ok.status != 200 {
		t.Fatalf("an upload at exactly the limit got %d %s", ok.status, ok.body)
	}
}

func TestCARUploadImportsAndPinsItsRoot(t *testing.T) {
	src := newEnv(t)
	fx := loadFixtures(t)
	f := fx.Files[4] // two blocks and a root
	data := fixtureBytes(f.Seed, f.Size)
	if r := src.upload(src.key, "", nil, filePart{name: "f", data: data}); r.status != 200 {
		t.Fatal(r.status, string(r.body))
	}
	car := src.get("/ipfs/"+f.V1+"?format=car", "")
	if car.status != 200 {
		t.Fatalf("export: %d", car.status)
	}

	dst := newEnv(t)
	resp := dst.do("POST", "/upload", map[string]string{"X-Api-Key": dst.key, "Content-Type": "application/vnd.ipld.car"}, bytes.NewReader(car.body))
	if resp.status != 200 || resp.json(t)["cid"] != f.V1 {
		t.Fatalf("car upload: %d %s", resp.status, resp.body)
	}
	if back := dst.get("/ipfs/"+f.V1, ""); !bytes.Equal(back.body, data) {
		t.Fatal("bytes served after CAR import differ from the original")
	}
	st := dst.get("/pins/"+f.V1, dst.key).json(t)
	if st["pinned"] != true {
		t.Fatalf("pin status after CAR import: %v", st)
	}

	// One flipped byte in a block's data: the hash no longer matches.
	bad := bytes.Clone(car.body)
	bad[len(bad)-10] ^= 0xff
	other := newEnv(t)
	resp = other.do("POST", "/upload", map[string]string{"X-Api-Key": other.key, "Content-Type": "application/vnd.ipld.car"}, bytes.NewReader(bad))
	if resp.status != 400 || resp.reason(t) != "INVALID_CONTENT" {
		t.Fatalf("corrupt CAR: got %d %s, want 400 INVALID_CONTENT", resp.status, resp.body)
	}
	if _, n, _ := other.store.ListPins(other.acct.ID, store.PinFilter{}); n != 0 {
		t.Fatalf("%d pins recorded from a corrupt CAR", n)
	}
}

func TestACARMissingBlocksOfItsRootIsRefused(t *testing.T) {
	src := newEnv(t)
	fx := loadFixtures(t)
	f := fx.Files[4] // a root and two leaves
	src.upload(src.key, "", nil, filePart{name: "f", data: fixtureBytes(f.Seed, f.Size)})
	car := src.get("/ipfs/"+f.V1+"?format=car&dag-scope=block", "") // the root block only
	if car.status != 200 {
		t.Fatalf("export of the root block: %d", car.status)
	}
	dst := newEnv(t)
	r := dst.do("POST", "/upload", map[string]string{"X-Api-Key": dst.key, "Content-Type": "application/vnd.ipld.car"}, bytes.NewReader(car.body))
	if r.status != 400 || r.reason(t) != "INVALID_CONTENT" {
		t.Fatalf("partial CAR: %d %s, want 400 INVALID_CONTENT", r.status, r.body)
	}
	if st := dst.get("/pins/"+f.V1, dst.key).json(t); st["pinned"] != false {
		t.Fatalf("a partial DAG is reported pinned: %v", st)
	}
}

func TestUploadsReportTheirDAGSizeToThePinningServiceAPI(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	f := fx.Files[4]
	e.upload(e.key, "", nil, filePart{name: "f", data: fixtureBytes(f.Seed, f.Size)})
	want, err := e.node.DagSize(t.Context(), mustCID(t, f.V1))
	if err != nil {
		t.Fatal(err)
	}
	list := e.get("/psa/pins?cid="+f.V1, e.key).json(t)
	results := list["results"].([]any)
	info, _ := results[0].(map[string]any)["info"].(map[string]any)
	if info == nil || info["dag_size"] != fmt.Sprint(want) {
		t.Fatalf("psa info %v, want dag_size %d", info, want)
	}
}

func TestGatewayContentIsSandboxedAwayFromTheDashboardsOrigin(t *testing.T) {
	e := newEnv(t)
	page := []byte("<html><script>sessionStorage.getItem('ninja.key')</script></html>")
	c := e.upload(e.key, "", nil, filePart{name: "x.html", data: page}).json(t)["cid"].(string)
	r := e.get("/ipfs/"+c, "")
	csp := r.header.Get("Content-Security-Policy")
	if r.status != 200 || !strings.Contains(csp, "sandbox") || strings.Contains(csp, "allow-same-origin") {
		t.Fatalf("gateway CSP %q (status %d): uploaded pages must run in an opaque origin", csp, r.status)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("gateway responses lack nosniff")
	}
}

// TestATruncatedMultipartBodyIsRefusedAndPinsNothing: a body cut off
// anywhere before its closing boundary is a 400, never a complete-looking pin.
func TestATruncatedMultipartBodyIsRefusedAndPinsNothing(t *testing.T) {
	e := newEnv(t)
	head := "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello world"
	for _, body := range []string{
		head,
		head + "\r\n",
		head + "\r\n--XX",
		head + "\r\n--XX\r\n",
		head + "\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.txt\"\r\n\r\nsecond",
	} {
		r := e.do("POST", "/upload", map[string]string{"X-Api-Key": e.key, "Content-Type": "multipart/form-data; boundary=XX"}, strings.NewReader(body))
		if r.status != 400 || r.reason(t) != "BAD_REQUEST" {
			t.Errorf("body %q: %d %s, want 400", body[len(head)-11:], r.status, r.body)
		}
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 0 {
		t.Fatalf("%d pins recorded from truncated bodies", n)
	}
	ok := e.do("POST", "/upload", map[string]string{"X-Api-Key": e.key, "Content-Type": "multipart/form-data; boundary=XX"}, strings.NewReader(head+"\r\n--XX--\r\n"))
	if ok.status != 200 {
		t.Fatalf("the same body closed properly: %d %s", ok.status, ok.body)
	}
}
