//go:build e2e

package e2e

// Browser tests of the web UI: a real ninja server in-process on loopback
// and the system Chromium, headless, driven with chromedp. Each test saves
// screenshots to e2e/screenshots/ (gitignored) for a human to look at.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// uiServer is a real ninja on 127.0.0.1 with an admin key.
type uiServer struct {
	url   string
	admin string // an admin API key
}

func uiStartServer(t *testing.T) *uiServer {
	t.Helper()
	n := startNinja(t)
	return &uiServer{url: n.url, admin: n.admin}
}

// uiChromium is the browser binary: $CHROMIUM, else chromium on the PATH.
func uiChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: install it (apt-get install -y chromium) or set CHROMIUM")
	return ""
}

// uiBrowser starts a headless Chromium with a fresh profile and returns a
// context for its first tab. Uncaught exceptions and console errors of that
// tab (a CSP violation is one) fail the test, except failed requests, which
// the tests provoke on purpose.
func uiBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(uiChromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	uiWatchConsole(t, ctx)
	return ctx
}

// uiWatchConsole fails the test on a page error in the tab of ctx.
func uiWatchConsole(t *testing.T, ctx context.Context) {
	messages := chromedp.Console(ctx)
	var mu sync.Mutex
	var errs []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if (m.IsException() || m.Type == chromedp.ConsoleError) && m.Source != "network" {
				mu.Lock()
				errs = append(errs, m.String())
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range errs {
			t.Errorf("browser console: %s", e)
		}
	})
}

// uiDo runs steps with a bounded wait.
func uiDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		uiScreenshot(t, ctx, "failed-"+strings.ReplaceAll(t.Name(), "/", "-"))
		t.Fatalf("%s: %v", what, err)
	}
}

func uiEval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// uiWait polls a JavaScript predicate until it is truthy.
func uiWait(t *testing.T, ctx context.Context, what, predicate string) {
	t.Helper()
	uiDo(t, ctx, "wait for "+what,
		chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
}

// uiScreenshot saves a full-page PNG as e2e/screenshots/name.png (or in
// $NINJA_SCREENSHOTS, a directory outside the tree).
func uiScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := "screenshots"
	if d := os.Getenv("NINJA_SCREENSHOTS"); d != "" {
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// uiNoHorizontalOverflow checks that nothing is wider than the viewport.
func uiNoHorizontalOverflow(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	if w := uiEval[[]int](t, ctx, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		t.Errorf("%s: the page is %d px wide in a %d px viewport", where, w[0], w[1])
	}
}

// uiTempFile writes a test file and returns its path.
func uiTempFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func uiRandom(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// uiGateway fetches /ipfs/{cid} and returns the body.
func uiGateway(t *testing.T, base, cid string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/ipfs/"+cid, nil)
	if err != nil {
		t.Fatal(err)
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
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ipfs/%s: status %d: %s", cid, resp.StatusCode, b)
	}
	return b
}

// uiUploadEntry is one file of an uploader's list, as the page shows it.
type uiUploadEntry struct {
	Name  string `json:"name"`
	State string `json:"state"`
	CID   string `json:"cid"`
	Shown string `json:"shown"` // the CID as displayed
	Text  string `json:"text"`
}

// uiUploads waits until no upload of the page's uploader is in flight and
// returns them all.
func uiUploads(t *testing.T, ctx context.Context, want int) []uiUploadEntry {
	t.Helper()
	uiWait(t, ctx, fmt.Sprintf("%d finished uploads", want), fmt.Sprintf(
		`document.querySelectorAll('.uploads li[data-state="done"], .uploads li[data-state="failed"]').length >= %d`, want))
	return uiEval[[]uiUploadEntry](t, ctx, `[...document.querySelectorAll('.uploads li')].map(li => ({
		name: li.dataset.name, state: li.dataset.state, cid: li.dataset.cid || '',
		shown: (li.querySelector('code.cid') || {}).textContent || '', text: li.textContent}))`)
}

func uiSignIn(t *testing.T, ctx context.Context, s *uiServer) {
	t.Helper()
	uiDo(t, ctx, "sign in",
		chromedp.Navigate(s.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#signin-key")),
		chromedp.SendKeys(chromedp.CSS("#signin-key"), s.admin),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#tabs")),
		chromedp.WaitVisible(chromedp.CSS("#view-files")),
	)
}

func TestUIDashboardUploadsTwoFilesAndTheGatewayServesThem(t *testing.T) {
	s := uiStartServer(t)
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)
	if got := uiEval[string](t, ctx, `sessionStorage.getItem('ninja.apiKey')`); got != s.admin {
		t.Errorf("the key is not in sessionStorage")
	}
	if got := uiEval[int](t, ctx, `localStorage.length`); got != 0 {
		t.Errorf("localStorage holds %d items; the key belongs in sessionStorage only", got)
	}

	a := uiRandom(t, 1536*1024) // more than one 1 MiB chunk
	b := []byte("hello from the ninja browser test\n")
	files := []string{uiTempFile(t, "photo.bin", a), uiTempFile(t, "notes.txt", b)}
	uiDo(t, ctx, "upload two files",
		chromedp.Click(chromedp.CSS(`#tabs a[href="#upload"]`)),
		chromedp.WaitVisible(chromedp.CSS("#view-upload")),
		chromedp.SetUploadFiles(chromedp.CSS(`#view-upload input[type="file"][multiple]:not([webkitdirectory])`), files),
	)
	ups := uiUploads(t, ctx, 2)
	if len(ups) != 2 {
		t.Fatalf("%d uploads listed, want 2: %+v", len(ups), ups)
	}
	want := map[string][]byte{"photo.bin": a, "notes.txt": b}
	for _, u := range ups {
		if u.State != "done" || u.CID == "" {
			t.Fatalf("upload of %s: state %s: %s", u.Name, u.State, u.Text)
		}
		if u.Shown != u.CID {
			t.Errorf("%s: the page shows CID %q, the upload returned %q", u.Name, u.Shown, u.CID)
		}
		if got := uiGateway(t, s.url, u.CID); !bytes.Equal(got, want[u.Name]) {
			t.Errorf("%s: the gateway returned %d bytes that differ from the %d uploaded", u.Name, len(got), len(want[u.Name]))
		}
	}
	uiScreenshot(t, ctx, "dashboard-upload")

	// Both are listed under Files, newest first.
	uiDo(t, ctx, "open files",
		chromedp.Click(chromedp.CSS(`#tabs a[href="#files"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#files-table tr[data-cid="%s"]`, ups[0].CID))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#files-table tr[data-cid="%s"]`, ups[1].CID))),
	)
	if got := uiEval[string](t, ctx, `document.querySelector('#files-count').textContent`); got != "2 files" {
		t.Errorf("files count %q, want \"2 files\"", got)
	}
	// Search by name narrows the list.
	uiDo(t, ctx, "search",
		chromedp.SendKeys(chromedp.CSS("#files-q"), "notes"),
		chromedp.Click(chromedp.CSS(`#files-search button[type="submit"]`)),
	)
	uiWait(t, ctx, "one search result", `document.querySelectorAll('#files-table tbody tr').length === 1 &&
		document.querySelector('#files-table tbody tr td[data-label="Name"]').textContent.startsWith('notes.txt')`)
	uiScreenshot(t, ctx, "dashboard-files")

	// Unpin it, with confirmation: the list then has no match.
	uiDo(t, ctx, "unpin",
		chromedp.Click(chromedp.CSS(`#files-table tbody tr button.danger`)),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.Click(chromedp.CSS("#confirm-ok")),
	)
	uiWait(t, ctx, "the unpinned file gone", `document.querySelectorAll('#files-table tbody tr').length === 0 &&
		!document.querySelector('#files-empty').hidden`)

	// Analytics and server views render.
	uiDo(t, ctx, "open analytics", chromedp.Click(chromedp.CSS(`#tabs a[href="#analytics"]`)))
	uiWait(t, ctx, "analytics charts", `document.querySelector('#an-error').hidden === false || document.querySelectorAll('#view-analytics svg').length === 3`)
	if msg := uiEval[string](t, ctx, `document.querySelector('#an-error').hidden ? '' : document.querySelector('#an-error').textContent`); msg != "" {
		t.Errorf("analytics: %s", msg)
	}
	uiScreenshot(t, ctx, "dashboard-analytics")
	uiDo(t, ctx, "open server", chromedp.Click(chromedp.CSS(`#tabs a[href="#server"]`)), chromedp.WaitVisible(chromedp.CSS("#server-peer")))
	if got := uiEval[string](t, ctx, `document.querySelector('#server-peer').textContent`); !strings.HasPrefix(got, "12D3KooW") {
		t.Errorf("server view peer id %q", got)
	}

	// At phone width nothing overflows.
	uiDo(t, ctx, "phone width", chromedp.EmulateViewport(375, 812), chromedp.Click(chromedp.CSS(`#tabs a[href="#files"]`)))
	uiEval[bool](t, ctx, `document.querySelector('#files-q').value = '', true`)
	uiDo(t, ctx, "clear search", chromedp.Click(chromedp.CSS(`#files-search button[type="submit"]`)))
	uiWait(t, ctx, "the file left", `document.querySelectorAll('#files-table tbody tr').length === 1`)
	uiNoHorizontalOverflow(t, ctx, "files at 375 px")
	uiScreenshot(t, ctx, "dashboard-files-375")
	for _, view := range []string{"upload", "keys", "analytics", "server"} {
		uiDo(t, ctx, "open "+view, chromedp.Click(chromedp.CSS(`#tabs a[href="#`+view+`"]`)), chromedp.WaitVisible(chromedp.CSS("#view-"+view)))
		uiNoHorizontalOverflow(t, ctx, view+" at 375 px")
	}
	uiScreenshot(t, ctx, "dashboard-server-375")
}

func TestUISignedTokenUploadsOnThePublicPageUntilRevoked(t *testing.T) {
	s := uiStartServer(t)
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)

	// Create a token in the dashboard.
	uiDo(t, ctx, "create a token",
		chromedp.Click(chromedp.CSS(`#tabs a[href="#keys"]`)),
		chromedp.WaitVisible(chromedp.CSS("#token-form")),
		chromedp.SendKeys(chromedp.CSS("#tok-name"), "e2e link"),
		chromedp.SendKeys(chromedp.CSS("#tok-uses"), "5"),
		chromedp.SendKeys(chromedp.CSS("#tok-size"), "1"),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#token-link")),
	)
	secret := uiEval[string](t, ctx, `document.querySelector('#token-created code').textContent`)
	if !strings.HasPrefix(secret, "sup_") {
		t.Fatalf("the new token is shown as %q", secret)
	}
	link := uiEval[string](t, ctx, `document.querySelector('#token-link').href`)
	if link != s.url+"/upload?token="+secret {
		t.Errorf("upload page link %q", link)
	}
	uiWait(t, ctx, "the token listed as active", `[...document.querySelectorAll('#tokens-table tbody tr')].some(tr =>
		tr.textContent.includes('e2e link') && tr.querySelector('.badge').textContent === 'active')`)
	uiScreenshot(t, ctx, "dashboard-token-created")

	// The public page, in its own tab, at phone width.
	page, cancel := chromedp.NewContext(ctx)
	defer cancel()
	uiWatchConsole(t, page)
	uiDo(t, page, "open the upload page",
		chromedp.EmulateViewport(375, 812),
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#upload-section")),
	)
	limits := uiEval[string](t, page, `document.querySelector('#token-constraints').textContent`)
	for _, want := range []string{"5 of 5", "1 MB", "any"} {
		if !strings.Contains(limits, want) {
			t.Errorf("the page's limits %q do not show %q", limits, want)
		}
	}
	data := uiRandom(t, 200*1024)
	uiDo(t, page, "upload with the token",
		chromedp.SetUploadFiles(chromedp.CSS(`#upload-section input[type="file"][multiple]:not([webkitdirectory])`),
			[]string{uiTempFile(t, "before.bin", data)}))
	ups := uiUploads(t, page, 1)
	if len(ups) != 1 || ups[0].State != "done" {
		t.Fatalf("upload with a live token: %+v", ups)
	}
	if got := uiGateway(t, s.url, ups[0].CID); !bytes.Equal(got, data) {
		t.Errorf("the gateway returned different bytes for %s", ups[0].CID)
	}
	// A file over the token's 1 MB is refused before it is sent.
	uiDo(t, page, "upload a file that is too large",
		chromedp.SetUploadFiles(chromedp.CSS(`#upload-section input[type="file"][multiple]:not([webkitdirectory])`),
			[]string{uiTempFile(t, "big.bin", uiRandom(t, 1100*1024))}))
	ups = uiUploads(t, page, 2)
	if ups[0].Name != "big.bin" || ups[0].State != "failed" || !strings.Contains(ups[0].Text, "Too large") {
		t.Errorf("oversized file: %+v", ups[0])
	}
	uiWait(t, page, "uses left updated", `document.querySelector('#token-constraints').textContent.includes('4 of 5')`)
	uiNoHorizontalOverflow(t, page, "upload page at 375 px")
	uiScreenshot(t, page, "upload-page-375")

	// Revoke it in the dashboard, with confirmation.
	uiDo(t, ctx, "revoke the token",
		chromedp.Click(chromedp.CSS(`#tokens-table tbody tr button.danger`)),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
	)
	uiScreenshot(t, ctx, "dashboard-revoke-confirm")
	uiDo(t, ctx, "confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	uiWait(t, ctx, "the token listed as revoked", `[...document.querySelectorAll('#tokens-table tbody tr')].some(tr =>
		tr.textContent.includes('e2e link') && tr.querySelector('.badge').textContent === 'revoked')`)
	uiScreenshot(t, ctx, "dashboard-token-revoked")

	// The page opened before the revocation: the next upload fails clearly.
	uiDo(t, page, "upload after revocation",
		chromedp.SetUploadFiles(chromedp.CSS(`#upload-section input[type="file"][multiple]:not([webkitdirectory])`),
			[]string{uiTempFile(t, "after.bin", []byte("too late"))}))
	ups = uiUploads(t, page, 3)
	if ups[0].Name != "after.bin" || ups[0].State != "failed" || !strings.Contains(ups[0].Text, "revoked") {
		t.Errorf("upload with a revoked token: %+v", ups[0])
	}
	uiWait(t, page, "the revocation message", `!document.querySelector('#token-error').hidden`)
	uiScreenshot(t, page, "upload-page-revoked-inflight")

	// Opened afresh, the page says so before any upload can start.
	uiDo(t, page, "reopen the upload page", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#token-error")))
	msg := uiEval[string](t, page, `document.querySelector('#token-error').textContent`)
	if !strings.Contains(msg, "revoked") {
		t.Errorf("a revoked token's page says %q", msg)
	}
	if uiEval[bool](t, page, `!document.querySelector('#upload-section').hidden`) {
		t.Errorf("the drop zone is offered for a revoked token")
	}
	uiScreenshot(t, page, "upload-page-revoked-375")
}

func TestUIDashboardUploadsAFileOverTheResumableThresholdOverTus(t *testing.T) {
	s := uiStartServer(t)
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)
	// One byte over the library's default threshold (64 MiB).
	data := uiRandom(t, 64<<20+1)
	uiDo(t, ctx, "upload a large file",
		chromedp.Click(chromedp.CSS(`#tabs a[href="#upload"]`)),
		chromedp.WaitVisible(chromedp.CSS("#view-upload")),
		chromedp.SetUploadFiles(chromedp.CSS(`#view-upload input[type="file"][multiple]:not([webkitdirectory])`), []string{uiTempFile(t, "large.bin", data)}),
	)
	ups := uiUploads(t, ctx, 1)
	if len(ups) != 1 || ups[0].State != "done" {
		t.Fatalf("the upload: %+v", ups)
	}
	if tr := uiEval[string](t, ctx, `document.querySelector('.uploads li').dataset.transport`); tr != "tus" {
		t.Errorf("the dashboard uploaded the 64 MiB + 1 byte file with %q, want tus", tr)
	}
	if !strings.Contains(ups[0].Text, "resumable") {
		t.Errorf("the entry says %q, not that it was a resumable upload", ups[0].Text)
	}
	code, body := postFile(t, s.url, s.admin, "large.bin", data)
	var plain struct {
		CID string `json:"cid"`
	}
	if err := json.Unmarshal(body, &plain); err != nil || code != http.StatusOK {
		t.Fatalf("multipart upload of the same bytes: %d %s", code, body)
	}
	if ups[0].CID != plain.CID {
		t.Errorf("tus CID %s, multipart CID of the same bytes %s", ups[0].CID, plain.CID)
	}
	if got := uiEval[int](t, ctx, `Object.keys(localStorage).filter(k => k.startsWith('ninja-tus:')).length`); got != 0 {
		t.Errorf("%d upload URLs left in localStorage after the upload finished", got)
	}
	uiScreenshot(t, ctx, "dashboard-upload-tus")
}
