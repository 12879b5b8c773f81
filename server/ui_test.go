package server

import (
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/ninja-ipfs/ninja/clients"
	"github.com/ninja-ipfs/ninja/web"
)

// uiServer is a Server with no store or node: the UI routes need neither.
func uiServer(t *testing.T) *httptest.Server {
	t.Helper()
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, Deps{})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func uiGet(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestUIPagesAreHTMLWithAStrictPolicy(t *testing.T) {
	ts := uiServer(t)
	for _, tc := range []struct{ name, path, script string }{
		{"the dashboard is served at /", "/", "/ui/js/dashboard.js"},
		{"the upload page is served at GET /upload, whatever the query", "/upload?token=sup_x", "/ui/js/upload-page.js"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := uiGet(t, ts.URL+tc.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			for h, want := range map[string]string{
				"Content-Type":            "text/html; charset=utf-8",
				"Content-Security-Policy": uiCSP,
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "no-cache",
				"Referrer-Policy":         "no-referrer",
			} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if !strings.Contains(body, `<script type="module" src="`+tc.script+`">`) {
				t.Errorf("page does not load %s", tc.script)
			}
		})
	}
}

func TestUIPolicyForbidsInlineCodeAndOtherOrigins(t *testing.T) {
	for _, directive := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'",
		"connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(uiCSP, directive+";") && !strings.HasSuffix(uiCSP, directive) {
			t.Errorf("CSP lacks %q: %s", directive, uiCSP)
		}
	}
	if strings.Contains(uiCSP, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %s", uiCSP)
	}
}

func TestUIAssetsRevalidateWithTheirETag(t *testing.T) {
	ts := uiServer(t)
	resp, body := uiGet(t, ts.URL+"/ui/js/dashboard.js", nil)
	if resp.StatusCode != http.StatusOK || body == "" {
		t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
	}
	if got, want := resp.Header.Get("Content-Type"), "text/javascript; charset=utf-8"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	if got := resp.Header.Get("Content-Security-Policy"); got != uiCSP {
		t.Errorf("asset CSP = %q", got)
	}
	etag := resp.Header.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(etag) {
		t.Fatalf("ETag = %q, want a quoted content hash", etag)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("Cache-Control = %q, want no-cache (revalidate with the ETag)", got)
	}

	resp, body = uiGet(t, ts.URL+"/ui/js/dashboard.js", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("revalidation: status %d with %d bytes, want 304 and no body", resp.StatusCode, len(body))
	}
	resp, _ = uiGet(t, ts.URL+"/ui/app.css", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("another file with that ETag: status %d, want 200", resp.StatusCode)
	}
}

func TestUIUnknownPathsAreNotFound(t *testing.T) {
	ts := uiServer(t)
	for _, p := range []string{"/ui/nope.js", "/ui/js/", "/ui/../server.go", "/nope", "/index.html"} {
		resp, _ := uiGet(t, ts.URL+p, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestUIWithoutTheEmbeddedFilesAnswersNotFound(t *testing.T) {
	u := newUI(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := httptest.NewRecorder()
	u.page("index.html")(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "noui") {
		t.Errorf("status %d body %q, want 404 naming the noui build", rec.Code, rec.Body.String())
	}
}

// Every file the pages and modules reference is embedded, and the HTML has
// nothing the CSP would block (inline scripts, style attributes).
func TestUIReferencesOnlyEmbeddedFiles(t *testing.T) {
	fsys := web.FS()
	ref := regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"`)
	imp := regexp.MustCompile(`(?m)^import [^;]* from '(\./[^']+)';`)
	// The UI's uploads go through the client library, served at /js/.
	libImp := regexp.MustCompile(`(?m)^import [^;]* from '/js/([^']+)';`)
	lib := clients.JS()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		src := string(b)
		switch path.Ext(p) {
		case ".html":
			if strings.Contains(src, " style=") || regexp.MustCompile(`<script(?: type="module")?>`).MatchString(src) ||
				strings.Contains(src, "<style") || regexp.MustCompile(` on[a-z]+=`).MatchString(src) {
				t.Errorf("%s has inline style or script, which the CSP blocks", p)
			}
			for _, m := range ref.FindAllStringSubmatch(src, -1) {
				if _, err := fs.Stat(fsys, strings.TrimPrefix(m[1], "/ui/")); err != nil {
					t.Errorf("%s references %s, which is not embedded", p, m[1])
				}
			}
		case ".js":
			for _, m := range imp.FindAllStringSubmatch(src, -1) {
				if _, err := fs.Stat(fsys, path.Join(path.Dir(p), m[1])); err != nil {
					t.Errorf("%s imports %s, which is not embedded", p, m[1])
				}
			}
			for _, m := range libImp.FindAllStringSubmatch(src, -1) {
				if _, err := fs.Stat(lib, m[1]); err != nil {
					t.Errorf("%s imports /js/%s, which the client library does not serve", p, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBuildWithoutTheUICompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the module")
	}
	cmd := exec.Command("go", "build", "-tags", "noui", "./...")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags noui ./...: %v\n%s", err, out)
	}
}

func TestTheClientLibraryIsServedAtAStablePathToAnyOrigin(t *testing.T) {
	ts := uiServer(t)
	for _, name := range []string{"ninja.js", "react.js", "vue.js"} {
		resp, body := uiGet(t, ts.URL+"/js/"+name, map[string]string{"Origin": "https://app.example.com"})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "export ") {
			t.Fatalf("GET /js/%s: status %d, %d bytes", name, resp.StatusCode, len(body))
		}
		if got := resp.Header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", name, got)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("%s: Access-Control-Allow-Origin %q: another origin cannot import it as a module", name, got)
		}
	}
	resp, body := uiGet(t, ts.URL+"/js/ninja.d.ts", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "export declare class Ninja") {
		t.Errorf("GET /js/ninja.d.ts: status %d", resp.StatusCode)
	}
	for _, p := range []string{"/js/package.json", "/js/test/ninja.test.js", "/js/node_modules/vue/package.json"} {
		if resp, _ := uiGet(t, ts.URL+p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404 (not part of the library)", p, resp.StatusCode)
		}
	}
}

func TestTheLibraryIsServedWithoutTheUI(t *testing.T) {
	u := newUI(nil, clients.JS(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := httptest.NewRecorder()
	if err := u.library(rec, httptest.NewRequest("GET", "/js/ninja.js", nil)); err != nil || rec.Code != http.StatusOK {
		t.Errorf("a noui build's /js/ninja.js: %d %v", rec.Code, err)
	}
}
