package server_test

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ninja-ipfs/ninja/store"
)

func TestPinataV3UploadTakesItsFieldsAfterTheFileWithAndWithoutV3(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	f := fx.Files[2]
	data := fixtureBytes(f.Seed, f.Size)
	g := e.send("POST", "/v3/groups/public", e.key, map[string]any{"name": "uploads"})
	var group struct{ ID string }
	g.data(t, 200, &group)
	for _, path := range []string{"/v3/files", "/files"} {
		// The SDK's order: the file, then network, name, group_id, keyvalues,
		// cid_version, and fields ninja does not know.
		r := e.postForm(path, bearer(e.key), file("photo.bin", data), field("network", "public"), field("name", "my photo"),
			field("group_id", group.ID), field("keyvalues", `{"env":"prod","n":2}`), field("streamable", "true"), field("cid_version", "v1"))
		var got v3File
		r.data(t, 200, &got)
		if got.CID != f.V1 || got.Name != "my photo" || got.Size != int64(f.Size) || got.NumberOfFiles != 1 ||
			got.Keyvalues["env"] != "prod" || got.Keyvalues["n"] != "2" || got.GroupID == nil || *got.GroupID != group.ID ||
			got.Network != "public" || !strings.HasPrefix(got.ID, "pin_") || got.CreatedAt == "" {
			t.Fatalf("%s answered %+v", path, got)
		}
		if back := e.get("/ipfs/"+got.CID, ""); !bytes.Equal(back.body, data) {
			t.Fatalf("%s: the file does not read back", path)
		}
		p, err := e.store.Pin(e.acct.ID, got.ID)
		if err != nil || p.Name != "my photo" || p.Metadata["env"] != "prod" {
			t.Fatalf("%s recorded %+v (%v)", path, p, err)
		}
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{Group: group.ID}); n != 2 {
		t.Fatalf("the group holds %d files, want both uploads", n)
	}
}

func TestPinataV3ImportFieldsAreHonouredBeforeTheFileAndRefusedAfterIt(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	f := fx.Files[2]
	data := fixtureBytes(f.Seed, f.Size)
	car, err := os.ReadFile("../testdata/node/sub.car")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		parts   []formPart
		status  int
		cid     string
		details string
	}{
		{"cid_version v0 before the file is CIDv0", []formPart{field("cid_version", "v0"), file("f", data)}, 200, f.V0, ""},
		{"cid_version v1 after the file is what was used", []formPart{file("f", data), field("cid_version", "v1")}, 200, f.V1, ""},
		{"cid_version v0 after the file is refused by name", []formPart{file("f", data), field("cid_version", "v0")}, 400, "", `"cid_version"`},
		{"car before the file imports a CAR", []formPart{field("car", "true"), file("sub.car", car)}, 200, fx.Site.Sub, ""},
		{"car after the file is refused by name", []formPart{file("sub.car", car), field("car", "true")}, 400, "", `"car"`},
		{"network private is refused, saying why", []formPart{file("f", data), field("network", "private")}, 400, "", "public IPFS files only"},
		{"expires_at is refused: ninja does not expire files", []formPart{file("f", data), field("expires_at", "1999999999")}, 400, "", "expires_at"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.postForm("/v3/files", bearer(e.key), tc.parts...)
			if tc.status != 200 {
				if r.status != tc.status || !strings.Contains(r.details(t), tc.details) {
					t.Fatalf("got %d %s, want %d naming %s", r.status, r.body, tc.status, tc.details)
				}
				return
			}
			var got v3File
			r.data(t, 200, &got)
			if got.CID != tc.cid {
				t.Fatalf("cid %s, want %s", got.CID, tc.cid)
			}
		})
	}
	// Refusals record nothing: 3 uploads succeeded.
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 3 {
		t.Fatalf("%d pins, want the 3 accepted uploads", n)
	}
}

// uploadV3 uploads one file through the v3 API and returns it.
func (e *env) uploadV3(name string, data []byte, fields ...formPart) v3File {
	e.t.Helper()
	r := e.postForm("/v3/files", bearer(e.key), append([]formPart{file(name, data)}, fields...)...)
	var f v3File
	r.data(e.t, 200, &f)
	return f
}

func (e *env) listV3(query string) v3List {
	e.t.Helper()
	var l v3List
	e.get("/v3/files/public"+query, e.key).data(e.t, 200, &l)
	return l
}

func ids(files []v3File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.ID
	}
	return out
}

func TestPinataV3ListFiltersAndPagesWithItsTokens(t *testing.T) {
	e := newEnv(t)
	var all []v3File // oldest first
	for i := range 7 {
		kv := fmt.Sprintf(`{"parity":"%s"}`, []string{"even", "odd"}[i%2])
		all = append(all, e.uploadV3(fmt.Sprintf("file-%d.txt", i), fmt.Appendf(nil, "content %d", i), field("name", fmt.Sprintf("Report %d", i)), field("keyvalues", kv)))
	}
	png := e.uploadV3("pic.png", []byte("\x89PNG\r\n\x1a\n a png"), field("name", "picture"))

	// Every page, newest first, by following next_page_token.
	var seen []string
	tok := ""
	for range 10 {
		l := e.listV3("?limit=3&pageToken=" + tok)
		seen = append(seen, ids(l.Files)...)
		if tok = l.NextPageToken; tok == "" {
			break
		}
	}
	want := []string{png.ID}
	for i := len(all) - 1; i >= 0; i-- {
		want = append(want, all[i].ID)
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("pages gave %v, want every file once, newest first: %v", seen, want)
	}
	asc := e.listV3("?order=ASC&limit=2")
	if !slices.Equal(ids(asc.Files), []string{all[0].ID, all[1].ID}) || asc.NextPageToken == "" {
		t.Fatalf("order=ASC gave %v", ids(asc.Files))
	}
	asc2 := e.listV3("?order=ASC&limit=2&pageToken=" + asc.NextPageToken)
	if !slices.Equal(ids(asc2.Files), []string{all[2].ID, all[3].ID}) {
		t.Fatalf("order=ASC page 2 gave %v", ids(asc2.Files))
	}

	filters := []struct {
		name, query string
		want        []string
	}{
		{"name matches part of the name, any case", "?name=report%203", []string{all[3].ID}},
		{"cid finds the file", "?cid=" + all[4].CID, []string{all[4].ID}},
		{"mimeType is the sniffed type", "?mimeType=image/png", []string{png.ID}},
		{"keyvalues[k]=v must all match", "?keyvalues[parity]=odd&name=report", []string{all[5].ID, all[3].ID, all[1].ID}},
	}
	for _, f := range filters {
		t.Run(f.name, func(t *testing.T) {
			if got := ids(e.listV3(f.query).Files); !slices.Equal(got, f.want) {
				t.Fatalf("%s gave %v, want %v", f.query, got, f.want)
			}
		})
	}
	for _, bad := range []string{"?limit=0", "?limit=1001", "?order=sideways", "?pageToken=nope", "?cid=notacid"} {
		if r := e.get("/v3/files/public"+bad, e.key); r.status != 400 {
			t.Errorf("%s: %d %s, want 400", bad, r.status, r.body)
		}
	}
	if r := e.get("/v3/files/private", e.key); r.status != 400 || !strings.Contains(r.details(t), "private") {
		t.Errorf("the private network: %d %s, want a 400 that names it", r.status, r.body)
	}
}

func TestPinataV3GetUpdateAndDeleteAFileByItsID(t *testing.T) {
	e := newEnv(t)
	f := e.uploadV3("a.txt", []byte("some text"), field("name", "before"), field("keyvalues", `{"keep":"1","drop":"2"}`))
	var got v3File
	e.get("/v3/files/public/"+f.ID, e.key).data(t, 200, &got)
	if got.ID != f.ID || got.CID != f.CID || got.Name != "before" {
		t.Fatalf("get gave %+v, want %+v", got, f)
	}
	// A new name; keyvalues merged in, null removes one.
	r := e.send("PUT", "/v3/files/public/"+f.ID, e.key, map[string]any{"name": "after", "keyvalues": map[string]any{"new": "3", "drop": nil}})
	got = v3File{}
	r.data(t, 200, &got)
	if got.Name != "after" || got.Keyvalues["keep"] != "1" || got.Keyvalues["new"] != "3" || got.Keyvalues["drop"] != "" {
		t.Fatalf("update gave %+v", got)
	}
	if p, _ := e.store.Pin(e.acct.ID, f.ID); p.Name != "after" || len(p.Metadata) != 2 {
		t.Fatalf("the record after the update: %+v", p)
	}
	if l := e.listV3("?keyvalues[new]=3"); len(l.Files) != 1 {
		t.Fatalf("the metadata index does not follow the update: %v", l.Files)
	}

	other := newEnv(t)
	if r := other.get("/v3/files/public/"+f.ID, other.key); r.status != 404 {
		t.Fatalf("another server's key reads the file: %d", r.status)
	}
	acct2, _ := e.store.CreateAccount("second")
	key2 := e.mintKey(acct2.ID, "pins:read", "pins:write")
	for _, m := range []string{"GET", "DELETE"} {
		if r := e.send(m, "/v3/files/public/"+f.ID, key2, nil); r.status != 404 {
			t.Fatalf("%s of another account's file: %d %s, want 404", m, r.status, r.body)
		}
	}
	e.send("DELETE", "/v3/files/public/"+f.ID, e.key, nil).data(t, 200, nil)
	if r := e.get("/v3/files/public/"+f.ID, e.key); r.status != 404 {
		t.Fatalf("a deleted file: %d", r.status)
	}
	if pins, _ := e.store.PinsByCID(e.acct.ID, f.CID); len(pins) != 0 {
		t.Fatalf("the pin is still recorded: %v", pins)
	}
}

func TestPinataV3TestAuthenticationAndUsage(t *testing.T) {
	e := newEnv(t)
	e.uploadV3("a", []byte("12345"))
	e.uploadV3("b", []byte("1234567890"))
	e.uploadV3("a again", []byte("12345")) // the same CID: stored once
	for _, path := range []string{"/v3/data/testAuthentication", "/data/testAuthentication"} {
		if r := e.get(path, e.key); r.status != 200 || !strings.Contains(string(r.body), "Congratulations") {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		if r := e.get(path, "bws_notakey"); r.status != 401 {
			t.Fatalf("%s with a bad key: %d", path, r.status)
		}
	}
	for _, path := range []string{"/v3/data/userPinnedDataTotal", "/data/userPinnedDataTotal"} {
		m := e.get(path, e.key).json(t)
		if m["pin_count"] != 3.0 || m["pin_size_total"] != 15.0 || m["pin_size_with_replications_total"] != 15.0 {
			t.Fatalf("%s: %v, want 3 pins and 15 bytes", path, m)
		}
	}
}
