package server_test

import (
	"bytes"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/store"
)

// TestUploadsAreBoundedInPathsNamesAndParts sends the attacks a public
// server gets: each is a clear 400 and writes nothing.
func TestUploadsAreBoundedInPathsNamesAndParts(t *testing.T) {
	e := newEnv(t, func(o *app.Options) { o.MaxFilesPerUpload = 5 })
	created := e.newToken(map[string]any{"maxUploads": 100, "maxSizeMB": 1})
	tok, tokID := created["token"].(string), created["tokenId"].(string)
	deep := strings.Repeat("d/", 150000) + "f.txt" // the 150,000-level path a 1 MiB token once uploaded
	tests := []struct {
		name   string
		files  []filePart
		reason string
		says   string
	}{
		{"a path 150,000 directories deep", []filePart{{name: deep, data: []byte("x")}}, "BAD_REQUEST", "at most 4096"},
		{"a path 65 directories deep", []filePart{{name: strings.Repeat("d/", 64) + "f", data: []byte("x")}}, "BAD_REQUEST", "at most 64"},
		{"a 256-byte file name", []filePart{{name: strings.Repeat("n", 256), data: []byte("x")}}, "BAD_REQUEST", "at most 255"},
		{"six files over a limit of five", []filePart{{name: "1"}, {name: "2"}, {name: "3"}, {name: "4"}, {name: "5"}, {name: "6"}}, "BAD_REQUEST", "at most 5 files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := multipartBody(t, nil, tt.files...)
			r := e.do("POST", "/upload", map[string]string{"Authorization": "Signed " + tok, "Content-Type": ct}, bytes.NewReader(body))
			if r.status != 400 || r.reason(t) != tt.reason || !strings.Contains(string(r.body), tt.says) {
				t.Fatalf("%d %s, want 400 %s saying %q", r.status, r.body, tt.reason, tt.says)
			}
		})
	}
	// A newline in a part's file name (a header injection attempt) is a
	// 400, not a 500.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="a`+"\n"+`b.txt"`)
	w, _ := mw.CreatePart(h)
	w.Write([]byte("x"))
	mw.Close()
	r := e.do("POST", "/upload", map[string]string{"Authorization": "Signed " + tok, "Content-Type": mw.FormDataContentType()}, &buf)
	if r.status != 400 {
		t.Errorf("a newline in a file name: %d %s, want 400", r.status, r.body)
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 0 {
		t.Fatalf("%d pins written by refused uploads", n)
	}
	if rec := e.tokenRecord(tokID); rec.UseCount != 0 {
		t.Fatalf("refused uploads used the token %d times", rec.UseCount)
	}
}
