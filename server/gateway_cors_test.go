package server_test

import (
	"net/http"
	"testing"

	"github.com/ninja-ipfs/ninja/app"
)

// TestGatewayCORSFollowsThePathGatewaySpec: every gateway answer, with an
// Origin or without, a GET, a HEAD, a preflight or a refusal, lets any
// page read it (*, never the origin echoed, never credentials), names the
// read-only methods and the request headers a fetch sends, and exposes
// the headers the gateway sends, Ipfs-Uri among them, and no header it
// never sends.
func TestGatewayCORSFollowsThePathGatewaySpec(t *testing.T) {
	e := newEnv(t, withCORSOrigins("https://only.example"))
	c := e.upload(e.key, "", nil, filePart{name: "a.txt", data: []byte("cors")}).json(t)["cid"].(string)
	want := map[string]string{
		"Access-Control-Allow-Origin":   "*",
		"Access-Control-Allow-Methods":  "GET, HEAD, OPTIONS",
		"Access-Control-Allow-Headers":  "Content-Type, Range, User-Agent, X-Requested-With",
		"Access-Control-Expose-Headers": "Content-Length, Content-Range, ETag, Ipfs-Uri, Retry-After, X-Ipfs-Roots",
	}
	origin := map[string]string{"Origin": "https://app.example"}
	preflight := map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "GET",
		"Access-Control-Request-Headers": "range,x-requested-with"}
	for _, tc := range []struct {
		name, method, path string
		headers            map[string]string
		status             int
	}{
		{"a GET without an Origin", "GET", "/ipfs/" + c, nil, 200},
		{"a GET with an Origin", "GET", "/ipfs/" + c, origin, 200},
		{"a HEAD with an Origin", "HEAD", "/ipfs/" + c, origin, 200},
		{"a HEAD without an Origin", "HEAD", "/ipfs/" + c, nil, 200},
		{"a preflight", "OPTIONS", "/ipfs/" + c, preflight, 200},
		{"an OPTIONS without an Origin", "OPTIONS", "/ipfs/" + c, nil, 200},
		{"a GET of a missing CID", "GET", "/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", origin, 404},
		{"a refused tar", "GET", "/ipfs/" + c + "?format=tar", origin, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.headers, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			for k, v := range want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if got := r.header.Get("Access-Control-Allow-Credentials"); got != "" {
				t.Errorf("Access-Control-Allow-Credentials %q: the gateway takes no credential", got)
			}
			if tc.status == 200 && tc.method != "OPTIONS" && r.header.Get("Ipfs-Uri") == "" {
				t.Error("no Ipfs-Uri header, which the exposed list names")
			}
			if tc.method == "OPTIONS" && r.header.Get("Allow") != "GET, HEAD, OPTIONS" {
				t.Errorf("Allow %q", r.header.Get("Allow"))
			}
		})
	}
}

// TestTheAPIsCORSStillNamesItsOrigins: the gateway's * does not leak into
// the upload API, which still answers only the configured origins.
func TestTheAPIsCORSStillNamesItsOrigins(t *testing.T) {
	e := newEnv(t, withCORSOrigins("https://only.example"))
	for origin, want := range map[string]string{"https://only.example": "https://only.example", "https://other.example": ""} {
		r := e.do("OPTIONS", "/upload", map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST"}, nil)
		if got := r.header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("/upload from %s: Access-Control-Allow-Origin %q, want %q", origin, got, want)
		}
	}
	if r := e.do("OPTIONS", "/upload", map[string]string{"Origin": "https://only.example", "Access-Control-Request-Method": "POST"}, nil); r.status != http.StatusNoContent {
		t.Errorf("API preflight status %d, want 204", r.status)
	}
}

func withCORSOrigins(o ...string) envOption {
	return func(opts *app.Options) { opts.Server.CORSOrigins = o }
}
