package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ninja-ipfs/ninja/pinning"
)

// FuzzDecodeContent: any content field either decodes or is refused with a
// 400, never a panic or a 500.
func FuzzDecodeContent(f *testing.F) {
	for _, s := range []string{`{"name":"example"}`, `[1,2]`, `"aGVsbG8="`, `"aGVsbG8"`, `"data:image/png;base64,iVBORw0KGgo="`,
		`"-_-_"`, `"not base64!!"`, `42`, `null`, ``, `{"a":`, `"\u0000"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, _, err := decodeContent(json.RawMessage(raw))
		if err != nil && toAPIError(err).Status != http.StatusBadRequest {
			t.Fatalf("decodeContent(%q) = %v, want a 400", raw, err)
		}
	})
}

// FuzzParseMetadata: accepted metadata always respects the limits.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"n":1,"t":true}`, `{"a":{"b":1}}`, `[]`, `{"":"x"}`, `"str"`, `{"k":"` + strings.Repeat("v", 3000) + `"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := parseMetadata(json.RawMessage(raw))
		if err != nil {
			if toAPIError(err).Status != http.StatusBadRequest {
				t.Fatalf("parseMetadata(%q) = %v, want a 400", raw, err)
			}
			return
		}
		if len(m) > pinning.MaxMetaKeys {
			t.Fatalf("accepted %d keys", len(m))
		}
		for k, v := range m {
			if k == "" || len(k) > pinning.MaxMetaKeyLen || len(v) > pinning.MaxMetaValueLen {
				t.Fatalf("accepted %q=%q", k, v)
			}
		}
	})
}
