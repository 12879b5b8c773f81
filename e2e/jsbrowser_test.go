//go:build e2e

package e2e

// The client library in a real browser, as an app on another origin uses
// it: test pages (testdata/jspages) served by an "app" server that also
// plays the app's backend (it mints upload tokens) and serves React and
// Vue from clients/js/node_modules. The library itself is imported from
// ninja's /js/, so these tests also prove the served copy and its CORS.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// jsApp is the app's server: its pages, its backend and a throttling
// proxy in front of ninja (/slow/…), so an upload lasts long enough to be
// watched or aborted.
type jsApp struct {
	url   string
	ninja *uiServer
	cut   *tusCut
}

func startJSApp(t *testing.T, n *uiServer) *jsApp {
	t.Helper()
	js := jsDir(t)
	mux := http.NewServeMux()
	mux.Handle("GET /pages/", http.StripPrefix("/pages/", http.FileServer(http.Dir(filepath.Join("testdata", "jspages")))))
	mux.Handle("GET /node_modules/", http.StripPrefix("/node_modules/", http.FileServer(http.Dir(filepath.Join(js, "node_modules")))))
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) {
		// expiresIn as ninja takes it: seconds as a number, or "1h".
		var exp any = r.URL.Query().Get("expiresIn")
		if n, err := strconv.Atoi(exp.(string)); err == nil {
			exp = n
		}
		body := map[string]any{"name": "app page", "expiresIn": exp}
		if m := r.URL.Query().Get("mime"); m != "" {
			body["allowedMimeTypes"] = []string{m}
		}
		var out json.RawMessage
		if code := apiCall(t, n.url, n.admin, "POST", "/upload-tokens", body, &out); code != http.StatusCreated {
			http.Error(w, fmt.Sprintf("mint: %d", code), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	})
	target, err := url.Parse(n.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	director := proxy.Director
	proxy.Director = func(r *http.Request) {
		director(r)
		r.Body = &slowBody{r: r.Body}
	}
	mux.Handle("/slow/", http.StripPrefix("/slow", proxy))
	cut := &tusCut{}
	mux.Handle("/cut/", cut)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	cut.proxy = tusCutProxy(target, hs.URL)
	return &jsApp{url: hs.URL, ninja: n, cut: cut}
}

// tusCut is a proxy in front of ninja's tus endpoint (/cut/…) that drops
// the connection of one chosen PATCH after 64 KiB of its body, as a flaky
// network does, and logs every request it passed on.
type tusCut struct {
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	cutAt int // the PATCH (1-based, counted since the last arm) to drop; 0 none
	seen  int
	// dropping is the offset of the dropped PATCH until the next HEAD: the
	// browser's network stack sends a request again by itself when a
	// reused connection dies under it, and that copy is dropped too, so
	// the page sees the failure.
	dropping string
	log      []tusHop
}

// tusHop is one request through the proxy: its method, the offset it sent
// (PATCH) and what ninja answered (status, Upload-Offset); Cut when the
// proxy dropped it.
type tusHop struct {
	Method, Offset, ServerOffset string
	Status                       int
	Cut                          bool
}

// arm clears the log and drops the n-th PATCH from now on (0: none).
func (c *tusCut) arm(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cutAt, c.seen, c.log, c.dropping = n, 0, nil, ""
}

func (c *tusCut) hops() []tusHop {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]tusHop(nil), c.log...)
}

func (c *tusCut) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hop := tusHop{Method: r.Method, Offset: r.Header.Get("Upload-Offset")}
	c.mu.Lock()
	drop := false
	switch r.Method {
	case http.MethodPatch:
		c.seen++
		drop = c.seen == c.cutAt || (c.dropping != "" && c.dropping == hop.Offset)
		if drop {
			c.dropping = hop.Offset
		}
	case http.MethodHead:
		c.dropping = ""
	}
	c.mu.Unlock()
	if drop {
		io.CopyN(io.Discard, r.Body, 64<<10)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		hop.Cut = true
	} else {
		rec := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/cut")
		c.proxy.ServeHTTP(rec, r)
		hop.Status, hop.ServerOffset = rec.code, w.Header().Get("Upload-Offset")
	}
	c.mu.Lock()
	c.log = append(c.log, hop)
	c.mu.Unlock()
}

// tusCutProxy forwards to ninja and rewrites the upload URLs ninja answers
// (Location, under the host the request named) to go through /cut/ again.
func tusCutProxy(target *url.URL, app string) *httputil.ReverseProxy {
	p := httputil.NewSingleHostReverseProxy(target)
	p.ModifyResponse = func(resp *http.Response) error {
		if loc := resp.Header.Get("Location"); loc != "" {
			if u, err := url.Parse(loc); err == nil && strings.HasPrefix(u.Path, "/tus/") {
				resp.Header.Set("Location", app+"/cut"+u.Path)
			}
		}
		return nil
	}
	return p
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// slowBody passes a request body on at about 6 MB/s.
type slowBody struct{ r io.ReadCloser }

func (b *slowBody) Read(p []byte) (int, error) {
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	time.Sleep(10 * time.Millisecond)
	return b.r.Read(p)
}

func (b *slowBody) Close() error { return b.r.Close() }

// jsBytes is the content library.js's bytes(n, seed) builds.
func jsBytes(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*31 + seed) % 251)
	}
	return b
}

// openLibraryPage opens library.html with its requests going to api.
func openLibraryPage(t *testing.T, ctx context.Context, app *jsApp, api string) {
	t.Helper()
	q := url.Values{"lib": {app.ninja.url}, "api": {api}}
	uiDo(t, ctx, "open the library page", chromedp.Navigate(app.url+"/pages/library.html?"+q.Encode()),
		chromedp.WaitVisible(chromedp.CSS("#ready")))
}

func TestTheLibraryReportsByteProgressEndingAtTheFilesSize(t *testing.T) {
	s := uiStartServer(t)
	app := startJSApp(t, s)
	ctx := uiBrowser(t)
	openLibraryPage(t, ctx, app, app.url+"/slow")
	// Loopback's socket buffers take the first ~4 MB at once; the rest
	// goes at the proxy's pace.
	const size = 12<<20 + 3
	var res struct {
		CID    string     `json:"cid"`
		Events [][2]int64 `json:"events"`
	}
	b := uiEvalAwait[json.RawMessage](t, ctx, fmt.Sprintf(`window.suite.progress(%d)`, size))
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Events) < 4 {
		t.Errorf("%d progress events for 12 MiB at 6 MB/s: %v", len(res.Events), res.Events)
	}
	for i, e := range res.Events {
		if e[1] != size {
			t.Fatalf("event %d: total %d, want the file's %d bytes", i, e[1], size)
		}
		if i > 0 && e[0] <= res.Events[i-1][0] {
			t.Fatalf("progress went back or repeated: %v then %v", res.Events[i-1], e)
		}
	}
	if last := res.Events[len(res.Events)-1]; last[0] != size {
		t.Errorf("the last event is %v, want %d of %d", last, size, size)
	}
	if got := uiGateway(t, s.url, res.CID); !bytes.Equal(got, jsBytes(size, 7)) {
		t.Errorf("the gateway serves other bytes than the page uploaded")
	}
}

func TestTheLibraryRenewsATokenThatExpiresMidBatch(t *testing.T) {
	s := uiStartServer(t)
	app := startJSApp(t, s)
	ctx := uiBrowser(t)
	openLibraryPage(t, ctx, app, s.url) // straight to ninja: cross-origin, with CORS
	for _, tc := range []struct {
		name, args string
		files      int
		reasons    string
	}{
		// Its expiresAt known, the token is renewed before it runs out.
		{"renewed before its expiresAt", `{files: 4, gapMs: 700, expiresIn: 3, margin: 1000}`, 4, "initial,expiring"},
		// Given bare, it is renewed when ninja answers 401 TOKEN_EXPIRED,
		// and that upload is sent again.
		{"renewed on TOKEN_EXPIRED and retried", `{files: 3, gapMs: 800, expiresIn: 1, margin: 0, bare: true}`, 3, "initial,expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res struct {
				CIDs    []string `json:"cids"`
				Reasons []string `json:"reasons"`
			}
			if err := json.Unmarshal(uiEvalAwait[json.RawMessage](t, ctx, `window.suite.batch(`+tc.args+`)`), &res); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(res.Reasons, ","); got != tc.reasons {
				t.Errorf("getToken was asked for %q, want %q", got, tc.reasons)
			}
			if len(res.CIDs) != tc.files {
				t.Fatalf("%d of %d files uploaded", len(res.CIDs), tc.files)
			}
			for i, c := range res.CIDs {
				if got := uiGateway(t, s.url, c); !bytes.Equal(got, jsBytes(64*1024+i, i)) {
					t.Errorf("file %d: the gateway serves other bytes", i)
				}
			}
		})
	}
	uiScreenshot(t, ctx, "library-page-1280")
}

func TestALargeFileGoesOverTusFromTheBrowserWithProgressAndTheMultipartCID(t *testing.T) {
	s := uiStartServer(t)
	app := startJSApp(t, s)
	ctx := uiBrowser(t)
	// Straight to ninja (cross-origin): the tus headers the library reads
	// (Location, Upload-Offset, Upload-CID) must be exposed by CORS.
	openLibraryPage(t, ctx, app, s.url)
	const size, chunk = 6<<20 + 17, 512 << 10
	var res struct {
		CID          string     `json:"cid"`
		MultipartCID string     `json:"multipartCid"`
		Resumable    bool       `json:"resumable"`
		Remembered   bool       `json:"remembered"`
		Left         int        `json:"left"`
		Size         int64      `json:"size"`
		Events       [][2]int64 `json:"events"`
	}
	b := uiEvalAwait[json.RawMessage](t, ctx, fmt.Sprintf(`window.suite.tus({size: %d, threshold: %d, chunkSize: %d})`, size, 1<<20, chunk))
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Resumable {
		t.Fatalf("the upload did not go over tus: %s", b)
	}
	if res.CID == "" || res.CID != res.MultipartCID {
		t.Errorf("tus CID %q, multipart CID of the same bytes %q", res.CID, res.MultipartCID)
	}
	if res.Size != size {
		t.Errorf("result size %d, want %d", res.Size, size)
	}
	if !res.Remembered || res.Left != 0 {
		t.Errorf("the upload URL in localStorage: remembered during the upload %v, %d entries left after it", res.Remembered, res.Left)
	}
	if chunks := (size + chunk - 1) / chunk; len(res.Events) < chunks {
		t.Errorf("%d progress events for %d chunks: %v", len(res.Events), chunks, res.Events)
	}
	for i, e := range res.Events {
		if e[1] != size {
			t.Fatalf("event %d: total %d, want the file's %d bytes", i, e[1], size)
		}
		if i > 0 && e[0] <= res.Events[i-1][0] {
			t.Fatalf("progress went back or repeated: %v then %v", res.Events[i-1], e)
		}
	}
	if last := res.Events[len(res.Events)-1]; last[0] != size {
		t.Errorf("the last event is %v, want %d of %d", last, size, size)
	}
	if got := uiGateway(t, s.url, res.CID); !bytes.Equal(got, jsBytes(size, 9)) {
		t.Errorf("the gateway serves other bytes than the page uploaded")
	}
}

func TestABrowserTusUploadResumesFromTheServersOffsetAfterADroppedConnectionAndAReload(t *testing.T) {
	s := uiStartServer(t)
	app := startJSApp(t, s)
	ctx := uiBrowser(t)
	openLibraryPage(t, ctx, app, app.url+"/cut")
	var tok struct {
		Token string `json:"token"`
	}
	apiOK(t, s.url, s.admin, "POST", "/upload-tokens", map[string]any{"name": "resume", "expiresIn": "1h"}, &tok)
	const size, chunk = 3<<20 + 11, 256 << 10
	type outcome struct {
		CID        string  `json:"cid"`
		Reason     string  `json:"reason"`
		Remembered int     `json:"remembered"`
		Events     []int64 `json:"events"`
	}
	run := func(retry string) outcome {
		var o outcome
		js := fmt.Sprintf(`window.suite.tusResume({size: %d, chunkSize: %d, token: %q, retryDelays: %s})`, size, chunk, tok.Token, retry)
		if err := json.Unmarshal(uiEvalAwait[json.RawMessage](t, ctx, js), &o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	// resumedAt checks that the first PATCH after a HEAD went on from the
	// offset that HEAD reported, past 0, and returns it.
	resumedAt := func(hops []tusHop, after int) string {
		t.Helper()
		for i := after; i < len(hops); i++ {
			if hops[i].Method != http.MethodHead {
				continue
			}
			for _, h := range hops[i+1:] {
				if h.Method == http.MethodPatch {
					if h.Offset != hops[i].ServerOffset || h.Offset == "0" || h.Offset == "" {
						t.Errorf("after HEAD said %q the PATCH sent offset %q: %+v", hops[i].ServerOffset, h.Offset, hops)
					}
					return h.Offset
				}
			}
		}
		t.Fatalf("no HEAD then PATCH after the cut: %+v", hops)
		return ""
	}

	// 1. The third chunk's connection drops and the page gives up (no
	// retries): the upload URL stays remembered.
	app.cut.arm(3)
	if o := run(`[]`); o.Reason != "NETWORK_ERROR" || o.Remembered != 1 {
		t.Fatalf("the cut upload: %+v, want NETWORK_ERROR with its URL remembered; requests %+v", o, app.cut.hops())
	}
	// 2. The page is reloaded and the same file chosen again: it resumes
	// the remembered upload from the server's offset, and this time a
	// dropped chunk is retried within the call.
	openLibraryPage(t, ctx, app, app.url+"/cut")
	app.cut.arm(2)
	o := run(`[0, 200, 500]`)
	if o.CID == "" {
		t.Fatalf("the resumed upload failed: %+v", o)
	}
	hops := app.cut.hops()
	t.Logf("requests after the reload: %+v", hops)
	if hops[0].Method != http.MethodHead {
		t.Errorf("the reloaded page began with %s, not a HEAD of the remembered upload: %+v", hops[0].Method, hops)
	}
	first := resumedAt(hops, 0)
	if first != strconv.Itoa(2*chunk) {
		t.Errorf("resumed after the reload at %s, want the 2 chunks the server had (%d)", first, 2*chunk)
	}
	cutAt := -1
	for i, h := range hops {
		if h.Cut {
			cutAt = i
		}
	}
	if cutAt < 0 {
		t.Fatalf("no PATCH was cut after the reload: %+v", hops)
	}
	resumedAt(hops, cutAt)
	for _, h := range hops {
		if h.Method == http.MethodPost {
			t.Errorf("the upload was created anew: %+v", hops)
		}
	}
	if last := o.Events[len(o.Events)-1]; last != size {
		t.Errorf("progress ended at %d of %d", last, size)
	}
	if got := uiGateway(t, s.url, o.CID); !bytes.Equal(got, jsBytes(size, 5)) {
		t.Errorf("the gateway serves other bytes than the page uploaded")
	}
	code, body := postFile(t, s.url, s.admin, "resumed.bin", jsBytes(size, 5))
	if code != http.StatusOK || !strings.Contains(string(body), o.CID) {
		t.Errorf("multipart upload of the same bytes: %d %s, want CID %s", code, body, o.CID)
	}
}

func TestAnAbortedLibraryUploadRejectsWithAnAbortErrorAndRecordsNothing(t *testing.T) {
	s := uiStartServer(t)
	app := startJSApp(t, s)
	ctx := uiBrowser(t)
	openLibraryPage(t, ctx, app, app.url+"/slow")
	before, _ := listUploads(t, s.url, s.admin, "limit=1")
	var res struct {
		Name       string `json:"name"`
		IsNinjaErr bool   `json:"isNinjaError"`
		At         int64  `json:"at"`
		TokenID    string `json:"tokenId"`
		Error      string `json:"error"`
	}
	const size = 32 << 20
	if err := json.Unmarshal(uiEvalAwait[json.RawMessage](t, ctx, fmt.Sprintf(`window.suite.abort({size: %d, abortAt: %d})`, size, 2<<20)), &res); err != nil {
		t.Fatal(err)
	}
	if res.Name != "AbortError" || res.IsNinjaErr || res.Error != "" {
		t.Fatalf("the aborted upload rejected with %+v, want a plain AbortError", res)
	}
	if res.At <= 0 || res.At >= size {
		t.Errorf("aborted at %d of %d bytes: not mid-upload", res.At, size)
	}
	// The proxy and ninja see the connection go; nothing may be recorded.
	time.Sleep(time.Second)
	if after, _ := listUploads(t, s.url, s.admin, "limit=1"); after != before {
		t.Errorf("%d records after the aborted upload, %d before", after, before)
	}
	var tokens []struct {
		TokenID  string `json:"tokenId"`
		UseCount int64  `json:"useCount"`
	}
	apiOK(t, s.url, s.admin, "GET", "/signed-tokens", nil, &tokens)
	for _, tk := range tokens {
		if tk.TokenID == res.TokenID && tk.UseCount != 0 {
			t.Errorf("the aborted upload used the token: useCount %d", tk.UseCount)
		}
	}
}

func TestALibraryRefusalIsShownWithItsReason(t *testing.T) {
	s := uiStartServer(t)
	app := startJSApp(t, s)
	ctx := uiBrowser(t)
	openLibraryPage(t, ctx, app, s.url)
	var res struct {
		IsNinjaErr bool   `json:"isNinjaError"`
		Status     int    `json:"status"`
		Reason     string `json:"reason"`
		Details    string `json:"details"`
	}
	if err := json.Unmarshal(uiEvalAwait[json.RawMessage](t, ctx, `window.suite.refusal()`), &res); err != nil {
		t.Fatal(err)
	}
	if !res.IsNinjaErr || res.Status != 415 || res.Reason != "MIME_NOT_ALLOWED" || !strings.Contains(res.Details, "text/plain") {
		t.Errorf("the refusal: %+v", res)
	}
	shown := uiEval[string](t, ctx, `document.querySelector('#refusal').textContent`)
	if !strings.Contains(shown, "415 MIME_NOT_ALLOWED") || !strings.Contains(shown, res.Details) {
		t.Errorf("the page shows %q", shown)
	}
	uiAtWidth(t, ctx, 375)
	uiScreenshot(t, ctx, "library-refusal-375")
}

// A component using the binding: a file input, a progress bar, the CID or
// the error. Both bindings get the same test.
func testBindingPage(t *testing.T, page, shot string) {
	s := uiStartServer(t)
	app := startJSApp(t, s)
	ctx := uiBrowser(t)
	q := url.Values{"lib": {s.url}, "api": {app.url + "/slow"}}
	uiDo(t, ctx, "open "+page, chromedp.Navigate(app.url+"/pages/"+page+"?"+q.Encode()), chromedp.WaitVisible(chromedp.CSS("#file")))
	data := jsBytes(4<<20, 11)
	uiDo(t, ctx, "choose a file", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{uiTempFile(t, "binding.bin", data)}))
	uiWait(t, ctx, "the result", `!!document.querySelector('#cid') || !!document.querySelector('#error')`)
	if msg := uiEval[string](t, ctx, `(document.querySelector('#error') || {}).textContent || ''`); msg != "" {
		t.Fatalf("the upload failed: %s", msg)
	}
	c := uiEval[string](t, ctx, `document.querySelector('#cid').textContent`)
	if got := uiGateway(t, s.url, c); !bytes.Equal(got, data) {
		t.Errorf("the gateway serves other bytes for %s", c)
	}
	seen := uiEval[[]float64](t, ctx, `window.seen`)
	var between int
	for i, p := range seen {
		if i > 0 && p < seen[i-1] {
			t.Errorf("progress went back: %v", seen)
			break
		}
		if p > 0 && p < 100 {
			between++
		}
	}
	if between == 0 || seen[len(seen)-1] != 100 {
		t.Errorf("progress rendered %v: want values between 0 and 100, ending at 100", seen)
	}
	if st := uiEval[string](t, ctx, `document.querySelector('#state').dataset.state`); st != "done" {
		t.Errorf("state %q after the upload", st)
	}
	uiScreenshot(t, ctx, shot+"-done")

	// A token allowing only PNGs: the binding's error carries the reason.
	q.Set("mime", "image/png")
	uiDo(t, ctx, "reopen with a PNG-only token", chromedp.Navigate(app.url+"/pages/"+page+"?"+q.Encode()), chromedp.WaitVisible(chromedp.CSS("#file")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{uiTempFile(t, "not-an-image.txt", []byte("just some text"))}),
		chromedp.WaitVisible(chromedp.CSS("#error")))
	if msg := uiEval[string](t, ctx, `document.querySelector('#error').textContent`); !strings.HasPrefix(msg, "MIME_NOT_ALLOWED: ") {
		t.Errorf("the error shown %q", msg)
	}
	if st := uiEval[string](t, ctx, `document.querySelector('#state').dataset.state`); st != "failed" {
		t.Errorf("state %q after a refusal", st)
	}
	uiScreenshot(t, ctx, shot+"-refused")
}

func TestTheReactHookUploadsWithProgressAndReportsARefusal(t *testing.T) {
	testBindingPage(t, "react.html", "react-hook")
}

func TestTheVueComposableUploadsWithProgressAndReportsARefusal(t *testing.T) {
	testBindingPage(t, "vue.html", "vue-composable")
}
