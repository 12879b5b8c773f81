package server_test

import (
	"bytes"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

func TestLegacyPinFileTakesPinataMetadataAndOptionsAfterTheFile(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	f := fx.Files[2]
	data := fixtureBytes(f.Seed, f.Size)
	a, b := fx.Site.Files[0], fx.Site.Files[1]
	cases := []struct {
		name   string
		parts  []formPart
		status int
		cid    string
		pin    string // the pin's name
	}{
		{"as @pinata/sdk sends it: the file, then metadata and options", []formPart{file("photo.bin", data),
			field("pinataMetadata", `{"name":"My photo","keyvalues":{"album":"summer","n":3}}`), field("pinataOptions", `{"cidVersion":1}`)}, 200, f.V1, "My photo"},
		{"cidVersion 0 before the file is CIDv0", []formPart{field("pinataOptions", `{"cidVersion":"0"}`), file("f", data)}, 200, f.V0, "f"},
		{"cidVersion 0 after the file is refused, naming pinataOptions", []formPart{file("f", data), field("pinataOptions", `{"cidVersion":0}`)}, 400, "", ""},
		{"wrapWithDirectory after the files is honoured", []formPart{file("a.txt", fixtureBytes(a.Seed, a.Size)), file("b.bin", fixtureBytes(b.Seed, b.Size)),
			field("pinataOptions", `{"wrapWithDirectory":true}`)}, 200, fx.Site.WrappedAB, ""},
		{"pinataMetadata that is not JSON is refused", []formPart{file("f", data), field("pinataMetadata", `{name`)}, 400, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.postForm("/pinning/pinFileToIPFS", bearer(e.key), tc.parts...)
			if tc.status != 200 {
				if r.status != tc.status || r.reason(t) != "BAD_REQUEST" {
					t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
				}
				return
			}
			m := r.json(t)
			if r.status != 200 || m["IpfsHash"] != tc.cid || m["PinSize"].(float64) <= 0 || m["Timestamp"] == "" {
				t.Fatalf("%d %s, want IpfsHash %s", r.status, r.body, tc.cid)
			}
			pins, _ := e.store.PinsByCID(e.acct.ID, tc.cid)
			if len(pins) == 0 || (tc.pin != "" && pins[len(pins)-1].Name != tc.pin) {
				t.Fatalf("pins of %s: %+v", tc.cid, pins)
			}
		})
	}
	if r := e.postForm("/pinning/pinFileToIPFS", bearer(e.key), file("f", data), field("pinataOptions", `{"cidVersion":0}`)); !strings.Contains(r.details(t), `"pinataOptions"`) {
		t.Fatalf("the refusal does not name the field: %s", r.body)
	}
	pins, _ := e.store.PinsByCID(e.acct.ID, f.V1)
	if p := pins[0]; p.Metadata["album"] != "summer" || p.Metadata["n"] != "3" {
		t.Fatalf("pinataMetadata keyvalues: %v", p.Metadata)
	}
	if back := e.get("/ipfs/"+f.V1, ""); !bytes.Equal(back.body, data) {
		t.Fatal("the file does not read back")
	}
}

func TestLegacyPinJSONPinsTheContentsCompactText(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t) // {"name":"example"}
	bodies := []string{
		`{"pinataContent": {"name": "example"}, "pinataMetadata": {"name": "doc.json", "keyvalues": {"k": "v"}}}`,
		`{ "name" : "example" }`, // no options: the SDK sends the content itself
	}
	for _, body := range bodies {
		r := e.do("POST", "/pinning/pinJSONToIPFS", map[string]string{"Authorization": "Bearer " + e.key, "Content-Type": "application/json"}, strings.NewReader(body))
		if m := r.json(t); r.status != 200 || m["IpfsHash"] != fx.JSON.V1 || m["MimeType"] != "application/json" {
			t.Fatalf("%s: %d %s, want %s", body, r.status, r.body, fx.JSON.V1)
		}
	}
	if back := e.get("/ipfs/"+fx.JSON.V1, ""); string(back.body) != fx.JSON.Content {
		t.Fatalf("read back %q", back.body)
	}
	pins, _ := e.store.PinsByCID(e.acct.ID, fx.JSON.V1)
	if len(pins) != 2 || pins[0].Name != "doc.json" || pins[0].Metadata["k"] != "v" {
		t.Fatalf("pins: %+v", pins)
	}
	r := e.do("POST", "/pinning/pinJSONToIPFS", bearer(e.key), strings.NewReader(`{"pinataContent": }`))
	if r.status != 400 {
		t.Fatalf("malformed JSON: %d %s", r.status, r.body)
	}
}

func TestLegacyKeyPairNamesAndHoldsTheCredential(t *testing.T) {
	e := newEnv(t)
	secret, k, err := e.svc.CreateAPIKey(t.Context(), e.acct.ID, "legacy", pinning.DefaultKeyScopes())
	if err != nil {
		t.Fatal(err)
	}
	pair := func(key, sec string) map[string]string {
		return map[string]string{"pinata_api_key": key, "pinata_secret_api_key": sec}
	}
	cases := []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{"the key's id and its secret", pair(k.ID, secret), 200},
		{"the key's display prefix and its secret", pair(token.DisplayPrefix(secret), secret), 200},
		{"another key's id", pair("key_0000000000000000", secret), 401},
		{"the secret alone", map[string]string{"pinata_secret_api_key": secret}, 401},
		{"the key alone", map[string]string{"pinata_api_key": k.ID}, 401},
		{"an unknown secret", pair(k.ID, "bws_notarealkeyatall"), 401},
		{"the pair and Authorization together", map[string]string{"pinata_api_key": k.ID, "pinata_secret_api_key": secret, "Authorization": "Bearer " + secret}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.do("GET", "/data/testAuthentication", tc.headers, nil); r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
		})
	}
	// The pair uploads too, checked before the body is read.
	r := e.postForm("/pinning/pinFileToIPFS", pair(k.ID, secret), file("f.txt", []byte("by the pair")))
	if r.status != 200 {
		t.Fatalf("upload with the pair: %d %s", r.status, r.body)
	}
	if r := e.postForm("/pinning/pinFileToIPFS", pair("key_0000000000000000", secret), file("f.txt", []byte("x"))); r.status != 401 {
		t.Fatalf("upload with a wrong pair: %d", r.status)
	}
}

// legacyUpload pins a file through pinFileToIPFS with a name and
// keyvalues (JSON) and returns its CID.
func (e *env) legacyUpload(name string, data []byte, kv string) string {
	e.t.Helper()
	r := e.postForm("/pinning/pinFileToIPFS", bearer(e.key), file(name, data), field("pinataMetadata", `{"name":"`+name+`","keyvalues":`+kv+`}`))
	if r.status != 200 {
		e.t.Fatalf("pinFileToIPFS: %d %s", r.status, r.body)
	}
	return r.json(e.t)["IpfsHash"].(string)
}

// pinList answers GET /data/pinList: the count and the rows' CIDs.
func (e *env) pinList(q string) (int, []string) {
	e.t.Helper()
	var l struct {
		Count int `json:"count"`
		Rows  []struct {
			Hash string `json:"ipfs_pin_hash"`
		} `json:"rows"`
	}
	r := e.get("/data/pinList"+q, e.key)
	if r.status != 200 {
		e.t.Fatalf("pinList%s: %d %s", q, r.status, r.body)
	}
	jsonUnmarshal(r.body, &l)
	var out []string
	for _, row := range l.Rows {
		out = append(out, row.Hash)
	}
	return l.Count, out
}

func TestLegacyPinListAnswersItsFiltersExactlyOrRefusesThem(t *testing.T) {
	e := newEnv(t)
	c1 := e.legacyUpload("alpha.txt", []byte("alpha"), `{"env":"prod"}`)
	mid := time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	c2 := e.legacyUpload("beta.txt", []byte("beta"), `{"env":"dev"}`)
	c3 := e.legacyUpload("alphabet.txt", []byte("alphabet"), `{"env":"prod"}`)
	kvProd := url.QueryEscape(`{"env":{"value":"prod","op":"eq"}}`)
	for _, tc := range []struct {
		q     string
		count int
		want  []string
	}{
		{"", 3, []string{c3, c2, c1}},
		{"?status=all&pageLimit=2", 3, []string{c3, c2}},
		{"?pageLimit=2&pageOffset=2", 3, []string{c1}},
		{"?hashContains=" + c2, 1, []string{c2}},
		{"?metadata[name]=ALPHA", 2, []string{c3, c1}},
		{"?metadata[keyvalues]=" + kvProd, 2, []string{c3, c1}},
		{"?pinEnd=" + mid.Format(time.RFC3339Nano), 1, []string{c1}},
		{"?pinStart=" + mid.Format(time.RFC3339Nano), 2, []string{c3, c2}},
		{"?status=unpinned", 0, nil},
	} {
		if n, got := e.pinList(tc.q); n != tc.count || !slices.Equal(got, tc.want) {
			t.Errorf("pinList%s: %d %v, want %d %v", tc.q, n, got, tc.count, tc.want)
		}
	}
	for _, bad := range []string{"?status=lost", "?hashContains=baf", "?pinSizeMin=10", "?pageLimit=0", "?pinStart=yesterday",
		"?metadata[keyvalues]=" + url.QueryEscape(`{"env":{"value":"p%","op":"like"}}`)} {
		if r := e.get("/data/pinList"+bad, e.key); r.status != 400 {
			t.Errorf("pinList%s: %d %s, want 400", bad, r.status, r.body)
		}
	}
}

func TestLegacyPinByHashJobsMetadataAndUnpin(t *testing.T) {
	e := newEnv(t)
	peer := newPeer(t)
	c1 := e.legacyUpload("alpha.txt", []byte("alpha"), `{"env":"prod"}`)
	c2 := e.legacyUpload("beta.txt", []byte("beta"), `{"env":"dev"}`)

	// hashMetadata renames and merges keyvalues (null removes one).
	body := `{"ipfsPinHash":"` + c1 + `","name":"renamed","keyvalues":{"env":null,"owner":"me"}}`
	if r := e.do("PUT", "/pinning/hashMetadata", bearer(e.key), strings.NewReader(body)); r.status != 200 || string(r.body) != "OK" {
		t.Fatalf("hashMetadata: %d %s", r.status, r.body)
	}
	if pins, _ := e.store.PinsByCID(e.acct.ID, c1); pins[0].Name != "renamed" || pins[0].Metadata["owner"] != "me" || pins[0].Metadata["env"] != "" {
		t.Fatalf("after hashMetadata: %+v", pins[0])
	}
	if r := e.do("PUT", "/pinning/hashMetadata", bearer(e.key), strings.NewReader(`{"ipfsPinHash":"`+addFile(t, peer, []byte("never pinned")).String()+`","name":"x"}`)); r.status != 404 {
		t.Fatalf("hashMetadata of a CID not pinned: %d", r.status)
	}

	// pinByHash queues a request, which pinJobs lists until it is pinned.
	far := addFile(t, peer, []byte("far away"))
	r := e.postJSON("/pinning/pinByHash", e.key, map[string]any{"hashToPin": far.String(), "pinataMetadata": map[string]any{"name": "far"}})
	job := r.json(t)
	if r.status != 200 || job["ipfsHash"] != far.String() || job["status"] != "prechecking" || job["name"] != "far" {
		t.Fatalf("pinByHash: %d %s", r.status, r.body)
	}
	jobs := e.get("/pinning/pinJobs?sort=ASC", e.key).json(t)
	if jobs["count"] != 1.0 || jobs["rows"].([]any)[0].(map[string]any)["ipfs_pin_hash"] != far.String() {
		t.Fatalf("pinJobs: %v", jobs)
	}
	if n, _ := e.pinList(""); n != 2 {
		t.Fatalf("the request is in pinList before it is pinned: %d", n)
	}

	// unpin drops every pin of the CID: OK, then 404.
	if r := e.do("DELETE", "/pinning/unpin/"+c2, bearer(e.key), nil); r.status != 200 || string(r.body) != "OK" {
		t.Fatalf("unpin: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/pinning/unpin/"+c2, bearer(e.key), nil); r.status != 404 {
		t.Fatalf("unpin again: %d", r.status)
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{CIDs: []string{c2}}); n != 0 {
		t.Fatalf("%d pins of the unpinned CID", n)
	}
	m := e.get("/data/userPinnedDataTotal", e.key).json(t)
	if m["pin_count"] != 1.0 || m["pin_size_total"] != float64(len("alpha")) {
		t.Fatalf("usage after the unpin: %v", m)
	}
}
