package server_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/textproto"
	"testing"
)

// formPart is one part of a multipart form, a field or (with file set) a
// file, so a test can send them in any order, as the SDKs do.
type formPart struct {
	name, value string
	file        *filePart
}

func field(name, value string) formPart { return formPart{name: name, value: value} }
func file(name string, data []byte) formPart {
	return formPart{name: "file", file: &filePart{name: name, data: data}}
}

// form builds a multipart body of parts in the order given.
func form(t *testing.T, parts ...formPart) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p.file == nil {
			mw.WriteField(p.name, p.value)
			continue
		}
		typ := p.file.typ
		if typ == "" {
			typ = "application/octet-stream"
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+p.name+`"; filename="`+p.file.name+`"`)
		h.Set("Content-Type", typ)
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.file.data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// postForm posts a multipart form to path with the headers given.
func (e *env) postForm(path string, headers map[string]string, parts ...formPart) response {
	e.t.Helper()
	ct, body := form(e.t, parts...)
	h := map[string]string{"Content-Type": ct}
	for k, v := range headers {
		h[k] = v
	}
	return e.do("POST", path, h, bytes.NewReader(body))
}

func bearer(key string) map[string]string { return map[string]string{"Authorization": "Bearer " + key} }

// send sends a JSON body (nil: none) with a Bearer key.
func (e *env) send(method, path, key string, body any) response {
	e.t.Helper()
	h := bearer(key)
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
		h["Content-Type"] = "application/json"
	} else {
		rd = bytes.NewReader(nil)
	}
	return e.do(method, path, h, rd)
}

// data decodes a v3 answer's data member into v, failing unless status is
// want.
func (r response) data(t *testing.T, want int, v any) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	var wrap struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.body, &wrap); err != nil || wrap.Data == nil {
		t.Fatalf("no data member in %s (%v)", r.body, err)
	}
	if v != nil {
		if err := json.Unmarshal(wrap.Data, v); err != nil {
			t.Fatalf("data: %v: %s", err, wrap.Data)
		}
	}
}

// details is an error answer's details text.
func (r response) details(t *testing.T) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	d, _ := e["details"].(string)
	return d
}

// v3File is a v3 file as a test reads it.
type v3File struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	CID           string            `json:"cid"`
	Size          int64             `json:"size"`
	NumberOfFiles int64             `json:"number_of_files"`
	MimeType      string            `json:"mime_type"`
	GroupID       *string           `json:"group_id"`
	Keyvalues     map[string]string `json:"keyvalues"`
	CreatedAt     string            `json:"created_at"`
	Network       string            `json:"network"`
}

type v3List struct {
	Files         []v3File `json:"files"`
	NextPageToken string   `json:"next_page_token"`
}
