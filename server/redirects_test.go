package server_test

import (
	"strings"
	"testing"
)

// siteRedirects is the _redirects file of the test site: fixed redirects
// of each status, a splat, placeholders, an external target, a 200
// rewrite for a single-page app and a catch-all 404 page.
const siteRedirects = `# comments and blank lines are allowed

/old            /new/page.html                  301
/temp           /new/page.html                  302
/see-other      /new/page.html                  303
/moved          /new/page.html                  307
/perm           /new/page.html                  308
/blog/*         /posts/:splat                   301
/archive/:year/:month/:slug  /posts/:year-:month/:slug.html  302
/external       https://example.net/landing     301
/app/*          /index.html                     200
/gone           /404.html                       410
/*              /404.html                       404
`

// TestRedirectsFilesApplyOnContentHosts: a site's _redirects is honoured
// as boxo implements it (the redirects-file spec) on its subdomain: the
// status codes 301/302/303/307/308 with their Location (the query kept),
// splats and placeholders expanded, external targets, 200 rewrites that
// serve another file under the asked path, 4xx rules that serve a page
// with that status, and existing files served as they are, rules or not.
func TestRedirectsFilesApplyOnContentHosts(t *testing.T) {
	e := newEnv(t, withGatewayDomains("example.com"))
	site := e.uploadSite(map[string]string{
		"_redirects":               siteRedirects,
		"index.html":               "home",
		"404.html":                 "custom not found",
		"new/page.html":            "new page",
		"posts/2024-05/hello.html": "hello post",
		"blog/kept.html":           "an existing file wins",
	})
	host := site + ".ipfs.example.com"
	for _, tc := range []struct {
		name, path string
		status     int
		location   string
		body       string
	}{
		{"301 to a fixed path", "/old", 301, "/new/page.html", ""},
		{"302 to a fixed path", "/temp", 302, "/new/page.html", ""},
		{"303", "/see-other", 303, "/new/page.html", ""},
		{"307", "/moved", 307, "/new/page.html", ""},
		{"308", "/perm", 308, "/new/page.html", ""},
		{"the query string is kept", "/old?utm=1", 301, "/new/page.html?utm=1", ""},
		{"a splat carries the rest of the path", "/blog/2024-05/hello.html", 301, "/posts/2024-05/hello.html", ""},
		{"placeholders are filled in", "/archive/2024/05/hello", 302, "/posts/2024-05/hello.html", ""},
		{"an external target", "/external", 301, "https://example.net/landing", ""},
		{"a 200 rule rewrites: the app's index under its route", "/app/settings/profile", 200, "", "home"},
		{"a 410 rule serves its page with 410", "/gone", 410, "", "custom not found"},
		{"the catch-all 404 serves 404.html with 404", "/no/such/page", 404, "", "custom not found"},
		{"an existing file is served, rules or not", "/blog/kept.html", 200, "", "an existing file wins"},
		{"the redirect's target is served", "/posts/2024-05/hello.html", 200, "", "hello post"},
		{"the root is the index", "/", 200, "", "home"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.doHost("GET", host, tc.path, nil, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %.200s", r.status, tc.status, r.body)
			}
			if got := r.header.Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
			if tc.body != "" && string(r.body) != tc.body {
				t.Errorf("body %q, want %q", r.body, tc.body)
			}
		})
	}
	// On the path gateway the rules do not apply: the file is not served
	// from an origin of its own (the redirects-file spec asks for origin
	// isolation), so /old is just missing.
	if r := e.do("GET", "/ipfs/"+site+"/old", nil, nil); r.status != 404 || r.header.Get("Location") != "" || strings.Contains(string(r.body), "custom not found") {
		t.Fatalf("path gateway /old: %d Location %q body %.100q; want a plain 404", r.status, r.header.Get("Location"), r.body)
	}
}

// TestASiteWithoutRedirectsGetsPlainAnswers: no _redirects file, no
// rules: a missing path is the gateway's 404, and nothing redirects.
func TestASiteWithoutRedirectsGetsPlainAnswers(t *testing.T) {
	e := newEnv(t, withGatewayDomains("example.com"))
	site := e.uploadSite(map[string]string{"index.html": "home", "about.html": "about"})
	host := site + ".ipfs.example.com"
	if r := e.doHost("GET", host, "/about.html", nil, nil); r.status != 200 || string(r.body) != "about" {
		t.Fatalf("/about.html: %d %q", r.status, r.body)
	}
	if r := e.doHost("GET", host, "/missing", nil, nil); r.status != 404 || r.header.Get("Location") != "" {
		t.Fatalf("/missing: %d Location %q", r.status, r.header.Get("Location"))
	}
}

// TestAMalformedRedirectsFileIsAnErrorNotIgnored: boxo refuses to guess
// what a site meant by a _redirects it cannot parse (a status it does
// not know) and answers paths the file would decide with an error; the
// site's existing files are still served.
func TestAMalformedRedirectsFileIsAnErrorNotIgnored(t *testing.T) {
	e := newEnv(t, withGatewayDomains("example.com"))
	site := e.uploadSite(map[string]string{"_redirects": "/a /b 999\n", "index.html": "home"})
	host := site + ".ipfs.example.com"
	if r := e.doHost("GET", host, "/", nil, nil); r.status != 200 || string(r.body) != "home" {
		t.Fatalf("/: %d %q", r.status, r.body)
	}
	if r := e.doHost("GET", host, "/a", nil, nil); r.status < 500 || !strings.Contains(string(r.body), "_redirects") {
		t.Fatalf("/a under a malformed _redirects: %d %.200q; want an error naming _redirects", r.status, r.body)
	}
}
