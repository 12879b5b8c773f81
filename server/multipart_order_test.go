package server_test

import (
	"strings"
	"testing"

	"github.com/ninja-ipfs/ninja/store"
)

// Every multipart dialect is one streaming upload (multipart.go): the same
// rules about where a field may come, whatever the endpoint.
func TestEveryMultipartDialectTakesDescribingFieldsAfterTheFiles(t *testing.T) {
	e := newEnv(t)
	fx := loadFixtures(t)
	f := fx.Files[2]
	data := fixtureBytes(f.Seed, f.Size)
	dialects := []struct {
		path          string
		name, version func(string) formPart
		cid           func(response) string
	}{
		{"/upload", func(n string) formPart { return field("name", n) }, func(v string) formPart { return field("cidVersion", v) },
			func(r response) string { return r.json(t)["cid"].(string) }},
		{"/v3/files", func(n string) formPart { return field("name", n) }, func(v string) formPart { return field("cid_version", "v"+v) },
			func(r response) string { var f v3File; r.data(t, 200, &f); return f.CID }},
		{"/pinning/pinFileToIPFS", func(n string) formPart { return field("pinataMetadata", `{"name":"`+n+`"}`) },
			func(v string) formPart { return field("pinataOptions", `{"cidVersion":`+v+`}`) },
			func(r response) string { return r.json(t)["IpfsHash"].(string) }},
	}
	for _, d := range dialects {
		t.Run(d.path, func(t *testing.T) {
			name := "named after" + strings.ReplaceAll(d.path, "/", " ")
			r := e.postForm(d.path, bearer(e.key), file("f", data), field("an unknown field", "ignored"), d.name(name), d.version("1"))
			if r.status != 200 || d.cid(r) != f.V1 {
				t.Fatalf("fields after the file: %d %s", r.status, r.body)
			}
			if pins, _ := e.store.PinsByCID(e.acct.ID, f.V1); pins[len(pins)-1].Name != name {
				t.Fatalf("the name sent after the file was not taken: %+v", pins[len(pins)-1])
			}
			if r := e.postForm(d.path, bearer(e.key), d.version("0"), file("f", data)); r.status != 200 || d.cid(r) != f.V0 {
				t.Fatalf("CID version 0 before the file: %d %s", r.status, r.body)
			}
			r = e.postForm(d.path, bearer(e.key), file("f", data), d.version("0"))
			if r.status != 400 || !strings.Contains(r.details(t), "CID version 0 after the file parts") {
				t.Fatalf("CID version 0 after the file: %d %s, want a 400 naming the field", r.status, r.body)
			}
		})
	}
}

// A tus creation sent to POST /upload is told where tus uploads go, and
// one on a Pinata signed URL (whose PATCHes would carry no credential) is
// refused; neither records anything.
func TestATusCreationElsewhereSaysWhereTusGoes(t *testing.T) {
	e := newEnv(t)
	h := bearer(e.key)
	h["Upload-Length"], h["Upload-Metadata"] = "100000000", "filename Zg=="
	r := e.do("POST", "/upload", h, nil)
	if r.status != 400 || !strings.Contains(r.details(t), "POST /tus/") {
		t.Fatalf("a tus creation on POST /upload: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/v3/files?token=sup_whatever", h, nil)
	if r.status != 400 || !strings.Contains(r.details(t), "signed upload URL") {
		t.Fatalf("a tus creation on a signed URL: %d %s", r.status, r.body)
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 0 {
		t.Fatalf("%d pins recorded", n)
	}
}
