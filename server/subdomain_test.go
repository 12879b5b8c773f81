package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/app"
)

func withGatewayDomains(d ...string) envOption {
	return func(o *app.Options) { o.GatewayDomains = d }
}

// doHost sends one request with the Host header host, without following
// redirects.
func (e *env) doHost(method, host, path string, headers map[string]string, body io.Reader) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Host = host
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// uploadSite uploads files (path -> content) as one directory and returns
// its CID (CIDv1).
func (e *env) uploadSite(files map[string]string) string {
	e.t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []filePart
	for _, n := range names {
		parts = append(parts, filePart{name: n, data: []byte(files[n])})
	}
	r := e.upload(e.key, "", nil, parts...)
	if r.status != 200 {
		e.t.Fatalf("upload site: %d %s", r.status, r.body)
	}
	return r.json(e.t)["cid"].(string)
}

// v1 is c as CIDv1 in base32, the form of a subdomain label.
func v1(t *testing.T, c string) string {
	t.Helper()
	p := mustCID(t, c)
	return cid.NewCidV1(p.Type(), p.Hash()).String()
}

const missingCID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"

// TestASubdomainHostServesItsCIDInItsOwnOrigin: {cid}.ipfs.{domain}
// serves that CID's bytes, a directory's index.html at /, with the
// gateway's CORS and no CSP sandbox (the origin is the content's own),
// while the path gateway on another host stays sandboxed.
func TestASubdomainHostServesItsCIDInItsOwnOrigin(t *testing.T) {
	e := newEnv(t, withGatewayDomains("example.com"))
	page := "<html><script>localStorage.setItem('k', 'v')</script></html>"
	site := e.uploadSite(map[string]string{"index.html": page, "app.js": "console.log(1)"})
	file := e.upload(e.key, "", nil, filePart{name: "a.txt", data: []byte("hello subdomain")}).json(t)["cid"].(string)
	for _, tc := range []struct {
		name, host, path, body, ctype string
	}{
		{"a file at its root", file + ".ipfs.example.com", "/", "hello subdomain", "text/plain"},
		{"a directory's index.html at its root", site + ".ipfs.example.com", "/", page, "text/html"},
		{"a directory's file by its path", site + ".ipfs.example.com", "/app.js", "console.log(1)", "text/javascript"},
		{"a Host with a port", site + ".ipfs.example.com:8443", "/app.js", "console.log(1)", "text/javascript"},
		{"a Host in upper case", strings.ToUpper(site[:4]) + site[4:] + ".ipfs.example.com", "/app.js", "console.log(1)", "text/javascript"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.doHost("GET", tc.host, tc.path, nil, nil)
			if r.status != 200 || string(r.body) != tc.body {
				t.Fatalf("status %d, body %q; want 200 %q", r.status, r.body, tc.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want %s", ct, tc.ctype)
			}
			if csp := r.header.Get("Content-Security-Policy"); csp != "" {
				t.Errorf("Content-Security-Policy %q on a content origin: its scripts must run in their own origin", csp)
			}
			if r.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("Access-Control-Allow-Origin %q", r.header.Get("Access-Control-Allow-Origin"))
			}
		})
	}
	r := e.do("GET", "/ipfs/"+site+"/", nil, nil) // the httptest host: a path gateway
	if csp := r.header.Get("Content-Security-Policy"); r.status != 200 || !strings.Contains(csp, "sandbox") || strings.Contains(csp, "allow-same-origin") {
		t.Fatalf("path gateway beside a subdomain gateway: status %d, CSP %q; want the sandbox", r.status, csp)
	}
}

// TestASubdomainHostRefusesWhatItCannotServe: an unknown CID is a 404, a
// label that is no CID a 400, an /ipns/ name a 404 (names are not
// resolved), a tar a 400 as on the path gateway; a CIDv0, which cannot be
// a label (browsers lower-case hosts), is redirected from its path form
// to its CIDv1 base32 label.
func TestASubdomainHostRefusesWhatItCannotServe(t *testing.T) {
	e := newEnv(t, withGatewayDomains("example.com"))
	v0 := e.upload(e.key, "?cidVersion=0", nil, filePart{name: "a.txt", data: []byte("v0 content")}).json(t)["cid"].(string)
	if !strings.HasPrefix(v0, "Qm") {
		t.Fatalf("cidVersion=0 upload gave %s", v0)
	}
	for _, tc := range []struct {
		name, host string
		status     int
	}{
		{"a CID that is not here is 404", missingCID + ".ipfs.example.com", 404},
		{"a label that is no CID is 400", "notacid.ipfs.example.com", 400},
		{"an IPNS name is 404 (no name resolution)", "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8.ipns.example.com", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.doHost("GET", tc.host, "/", nil, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
	// The node's restrictions hold on a content host too: no tar, CAR yes.
	file := v1(t, v0)
	if r := e.doHost("GET", file+".ipfs.example.com", "/?format=tar", nil, nil); r.status != 400 || r.reason(t) != "BAD_REQUEST" {
		t.Errorf("?format=tar on a content host: %d %s, want 400", r.status, r.body)
	}
	if r := e.doHost("GET", file+".ipfs.example.com", "/?format=car", nil, nil); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/vnd.ipld.car") {
		t.Errorf("?format=car on a content host: %d %q", r.status, r.header.Get("Content-Type"))
	}
	// A CIDv0 cannot be a label (it is case-sensitive): its path form
	// redirects to its CIDv1, which serves it.
	r := e.doHost("GET", "example.com", "/ipfs/"+v0, nil, nil)
	want := "http://" + v1(t, v0) + ".ipfs.example.com/"
	if r.status != 301 || r.header.Get("Location") != want {
		t.Fatalf("example.com/ipfs/{CIDv0}: %d Location %q, want 301 %s", r.status, r.header.Get("Location"), want)
	}
	if r := e.doHost("GET", v1(t, v0)+".ipfs.example.com", "/", nil, nil); r.status != 200 || string(r.body) != "v0 content" {
		t.Fatalf("the CIDv0's subdomain: %d %q", r.status, r.body)
	}
}

// TestThePathFormOnAGatewayDomainRedirectsToTheSubdomain: {domain}/ipfs/
// {cid}/path?query is a 301 to {cid}.ipfs.{domain}/path?query, https only
// when the request came over HTTPS: X-Forwarded-Proto is believed from a
// trusted proxy only.
func TestThePathFormOnAGatewayDomainRedirectsToTheSubdomain(t *testing.T) {
	e := newEnv(t, withGatewayDomains("example.com", "localhost:8080"), withProxies("10.0.0.0/8"))
	site := e.uploadSite(map[string]string{"index.html": "i", "docs/a.html": "a"})
	for _, tc := range []struct {
		name, host, path string
		headers          map[string]string
		location         string
	}{
		{"a directory", "example.com", "/ipfs/" + site, nil, "http://" + site + ".ipfs.example.com/"},
		{"a path and a query", "example.com", "/ipfs/" + site + "/docs/a.html?x=1", nil, "http://" + site + ".ipfs.example.com/docs/a.html?x=1"},
		{"a domain with its port", "localhost:8080", "/ipfs/" + site + "/docs/", nil, "http://" + site + ".ipfs.localhost:8080/docs/"},
		{"X-Forwarded-Proto from an untrusted client is ignored", "example.com", "/ipfs/" + site, map[string]string{"X-Forwarded-Proto": "https"}, "http://" + site + ".ipfs.example.com/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.doHost("GET", tc.host, tc.path, tc.headers, nil)
			if r.status != 301 || r.header.Get("Location") != tc.location {
				t.Fatalf("%d Location %q, want 301 %s", r.status, r.header.Get("Location"), tc.location)
			}
		})
	}
	// Behind a trusted proxy that terminated TLS, the redirect stays on
	// HTTPS.
	p := newEnv(t, withGatewayDomains("example.com"), withProxies("127.0.0.0/8"))
	r := p.doHost("GET", "example.com", "/ipfs/"+site, map[string]string{"X-Forwarded-Proto": "https"}, nil)
	if want := "https://" + site + ".ipfs.example.com/"; r.status != 301 || r.header.Get("Location") != want {
		t.Fatalf("behind a trusted proxy: %d Location %q, want 301 %s", r.status, r.header.Get("Location"), want)
	}
	// Over TLS, the redirect is to https.
	ts := httptest.NewTLSServer(e.srv.Handler())
	defer ts.Close()
	req, err := http.NewRequest("GET", ts.URL+"/ipfs/"+site, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "example.com"
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://" + site + ".ipfs.example.com/"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Fatalf("over TLS: %d Location %q, want 301 %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// The domain's other paths are the dashboard and the API, as before.
	if r := e.doHost("GET", "example.com", "/healthz", nil, nil); r.status != 200 {
		t.Fatalf("example.com/healthz: %d", r.status)
	}
}

// TestAContentHostNeverReachesTheAPIOrTheDashboard: on a content host,
// API paths with a valid key, uploads and the dashboard's pages are
// the content's paths (404 when the CID has none), never the API's; other
// methods are 405 and store nothing.
func TestAContentHostNeverReachesTheAPIOrTheDashboard(t *testing.T) {
	e := newEnv(t, withGatewayDomains("example.com"))
	site := e.uploadSite(map[string]string{"index.html": "site", "x.txt": "x"})
	host := site + ".ipfs.example.com"
	auth := map[string]string{"Authorization": "Bearer " + e.admin}
	for _, path := range []string{"/admin/status", "/upload/list", "/psa/pins", "/ui/app.js", "/auth/whoami", "/healthz", "/metrics", "/ipfs/" + site} {
		r := e.doHost("GET", host, path, auth, nil)
		if r.status != 404 {
			t.Errorf("GET %s on a content host: %d %s; want the content's 404", path, r.status, r.body)
		}
	}
	if r := e.doHost("GET", host, "/", auth, nil); r.status != 200 || string(r.body) != "site" {
		t.Errorf("GET / on a content host: %d %q, want the site's index.html", r.status, r.body)
	}
	before := len(e.get("/upload/list", e.key).json(t)["uploads"].([]any))
	ct, body := multipartBody(t, nil, filePart{name: "evil.html", data: []byte("x")})
	for _, path := range []string{"/upload", "/psa/pins", "/admin/keys"} {
		r := e.doHost("POST", host, path, map[string]string{"Authorization": "Bearer " + e.admin, "Content-Type": ct}, strings.NewReader(string(body)))
		if r.status != 405 || r.header.Get("Allow") != "GET, HEAD, OPTIONS" {
			t.Errorf("POST %s on a content host: %d (Allow %q), want 405", path, r.status, r.header.Get("Allow"))
		}
	}
	if after := len(e.get("/upload/list", e.key).json(t)["uploads"].([]any)); after != before {
		t.Fatalf("%d uploads after POSTs to a content host, %d before", after, before)
	}
	// An untrusted X-Forwarded-Host does not make the dashboard's host a
	// content host, nor its gateway responses unsandboxed.
	r := e.do("GET", "/ipfs/"+site+"/", map[string]string{"X-Forwarded-Host": host}, nil)
	if csp := r.header.Get("Content-Security-Policy"); r.status != 200 || !strings.Contains(csp, "sandbox") || string(r.body) != "site" {
		t.Fatalf("path gateway with a forged X-Forwarded-Host: %d CSP %q body %q", r.status, csp, r.body)
	}
	if r := e.do("GET", "/healthz", map[string]string{"X-Forwarded-Host": host}, nil); r.status != 200 {
		t.Fatalf("API with a forged X-Forwarded-Host: %d", r.status)
	}
}

// TestWithoutGatewayDomainsEveryHostIsThePathGateway: no domains, no
// subdomain handling: a host that looks like a content host gets the API
// and the sandboxed path gateway, as before.
func TestWithoutGatewayDomainsEveryHostIsThePathGateway(t *testing.T) {
	e := newEnv(t)
	c := e.upload(e.key, "", nil, filePart{name: "a.txt", data: []byte("plain")}).json(t)["cid"].(string)
	host := c + ".ipfs.example.com"
	if r := e.doHost("GET", host, "/healthz", nil, nil); r.status != 200 {
		t.Fatalf("/healthz: %d", r.status)
	}
	r := e.doHost("GET", host, "/ipfs/"+c, nil, nil)
	if csp := r.header.Get("Content-Security-Policy"); r.status != 200 || string(r.body) != "plain" || !strings.Contains(csp, "sandbox") {
		t.Fatalf("/ipfs/{cid}: %d %q CSP %q", r.status, r.body, csp)
	}
	if u := e.upload(e.key, "", nil, filePart{name: "b.txt", data: []byte("b")}).json(t)["uris"].(map[string]any)["url"].(string); !strings.Contains(u, "/ipfs/") {
		t.Fatalf("uris.url %q, want the path form", u)
	}
}

// TestUploadLinksUseTheSubdomainForm: uris.url is
// {scheme}://{cidv1b32}.ipfs.{first domain}/, https when the server
// serves HTTPS or its public URL is https, and a CIDv0 upload's link
// names its CIDv1.
func TestUploadLinksUseTheSubdomainForm(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []envOption
		query  string
		scheme string
	}{
		{"plain HTTP", []envOption{withGatewayDomains("example.com", "other.example")}, "", "http"},
		{"a CIDv0 upload", []envOption{withGatewayDomains("example.com")}, "?cidVersion=0", "http"},
		{"the server serves HTTPS", []envOption{withGatewayDomains("example.com"), func(o *app.Options) { o.Server.HTTPS = true }}, "", "https"},
		{"an https public URL", []envOption{withGatewayDomains("example.com"), withPublicURL("https://pin.example.com")}, "", "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			m := e.upload(e.key, tc.query, nil, filePart{name: "a.txt", data: []byte("link " + tc.name)}).json(t)
			c := m["cid"].(string)
			want := tc.scheme + "://" + v1(t, c) + ".ipfs.example.com/"
			if got := m["uris"].(map[string]any)["url"]; got != want {
				t.Fatalf("uris.url %q, want %q", got, want)
			}
		})
	}
}

// TestTheDashboardMayPreviewFromContentHosts: with gateway domains the
// dashboard's CSP lets its previews load from *.ipfs.{domain} (where its
// /ipfs/ links redirect on a gateway domain), and nothing else changes.
func TestTheDashboardMayPreviewFromContentHosts(t *testing.T) {
	e := newEnv(t, withGatewayDomains("example.com", "localhost:8080"))
	csp := e.doHost("GET", "example.com", "/", nil, nil).header.Get("Content-Security-Policy")
	for _, want := range []string{
		"img-src 'self' data: *.ipfs.example.com:* *.ipfs.localhost:8080;",
		"media-src 'self' *.ipfs.example.com:* *.ipfs.localhost:8080;",
		"frame-src 'self' *.ipfs.example.com:* *.ipfs.localhost:8080;",
		"script-src 'self';", "connect-src 'self';", "frame-ancestors 'none';",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("dashboard CSP lacks %q: %s", want, csp)
		}
	}
}

// TestAPinataSignedURLStaysOnTheAPIsHost: only content links take the
// subdomain form; a signed upload URL is the API's own address.
func TestAPinataSignedURLStaysOnTheAPIsHost(t *testing.T) {
	e := newEnv(t, withGatewayDomains("example.com"))
	u := e.sign("/v3/files/sign", map[string]any{"date": e.now.Unix(), "expires": 60, "network": "public"})
	if u.Path != "/v3/files" || !strings.HasPrefix(e.http.URL, u.Scheme+"://"+u.Host) {
		t.Fatalf("signed URL %s with gateway domains: want this server's /v3/files", u)
	}
}
