package server

import (
	"net/http"
	"testing"

	tusd "github.com/tus/tusd/v2/pkg/handler"
)

// FuzzParseTusMetadata: any Upload-Metadata header (as tusd decodes it)
// either gives an upload's description or a 400, never a panic or a 500.
func FuzzParseTusMetadata(f *testing.F) {
	for _, s := range []string{"filename aGVsbG8udHh0", "filename aGVsbG8udHh0,filetype dGV4dC9wbGFpbg==",
		"metadata eyJhIjoiYiJ9", "keyvalues WzFd", "cidVersion MA==", "cid_version Mw==", "car dHJ1ZQ==", "car bm8=",
		"name ,type", ",,", "filename !!!", "a b c"} {
		f.Add(s, "")
	}
	f.Add("", "0")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, header, cidQuery string) {
		spec, err := parseTusMetadata(tusd.ParseMetadataHeader(header), cidQuery)
		if err != nil {
			if toAPIError(err).Status != http.StatusBadRequest {
				t.Fatalf("parseTusMetadata(%q) = %v, want a 400", header, err)
			}
			return
		}
		if v := spec.CIDVersion; v != nil && *v != 0 && *v != 1 {
			t.Fatalf("accepted cidVersion %d", *v)
		}
	})
}

// FuzzParseChecksum: any Upload-Checksum is a checksum of the algorithm's
// size or a 400.
func FuzzParseChecksum(f *testing.F) {
	for _, s := range []string{"sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "sha1 2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
		"md5 1B2M2Y8AsgTpgAmY7PhCfg==", "sha512 z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
		"crc32 AAAA", "sha256", "sha256 !!!", "sha256 AAAA", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := parseChecksum(v)
		if err != nil {
			if toAPIError(err).Status != http.StatusBadRequest {
				t.Fatalf("parseChecksum(%q) = %v, want a 400", v, err)
			}
			return
		}
		if c != nil && len(c.want) != c.h.Size() {
			t.Fatalf("parseChecksum(%q) accepted a %d-byte sum for a %d-byte hash", v, len(c.want), c.h.Size())
		}
	})
}
