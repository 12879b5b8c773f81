//go:build e2e

package e2e

// Browser tests of the dashboard's credential views (upload-signing keys,
// access JWTs), of what each kind of credential sees after signing in, of
// the server view (usage, quota, GC), and of every table's fit at phone,
// tablet and desktop widths.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/token"
)

func TestUISigningKeysAreCreatedOnceShownCountedAndRevoked(t *testing.T) {
	s := uiStartServer(t)
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)
	uiOpen(t, ctx, "#keys-signing", "#signing-form")
	uiDo(t, ctx, "create a signing key", chromedp.SendKeys(chromedp.CSS("#signing-name"), "backend"),
		chromedp.Click(chromedp.CSS(`#signing-form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#signing-kid")))
	kid := uiEval[string](t, ctx, `document.querySelector('#signing-kid').textContent`)
	secret := uiEval[string](t, ctx, `document.querySelector('#signing-created .secret code').textContent`)
	if !strings.HasPrefix(kid, "usk_") || !strings.HasPrefix(secret, "uss_") {
		t.Fatalf("the new key shows kid %q and secret %q", kid, secret)
	}
	uiScreenshot(t, ctx, "keys-signing-created-1280")

	// The backend signs an upload JWT with it; the upload works and the
	// key's row counts it once analytics has the event (batched, <= 1 s).
	data := []byte("signed by the backend\n")
	code, body := postFile(t, s.url, uploadJWT(t, kid, secret), "jwt.txt", data)
	var up uploaded
	if code != http.StatusOK || json.Unmarshal(body, &up) != nil {
		t.Fatalf("upload with the key's JWT: %d %s", code, body)
	}
	if got := uiGateway(t, s.url, up.CID); !bytes.Equal(got, data) {
		t.Fatalf("the gateway serves other bytes for the JWT upload")
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		uiOpen(t, ctx, "#keys", "#signing-table")
		uiOpen(t, ctx, "#keys-signing", "#signing-table")
		uiWait(t, ctx, "the key listed", fmt.Sprintf(`!!document.querySelector('#signing-table tr[data-kid="%s"] td[data-label="Uploads"]:not(:empty)')`, kid))
		uses := uiEval[string](t, ctx, fmt.Sprintf(`document.querySelector('#signing-table tr[data-kid="%s"] td[data-label="Uploads"]').textContent`, kid))
		if uses == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the signing key's uploads show %q, want 1", uses)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if uiEval[bool](t, ctx, `document.body.textContent.includes(`+jsString(secret)+`)`) {
		t.Errorf("the secret is still on the page after a reload of the list")
	}

	uiDo(t, ctx, "revoke", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#signing-table tr[data-kid="%s"] button.danger`, kid))),
		chromedp.WaitVisible(chromedp.CSS("#confirm")), chromedp.Click(chromedp.CSS("#confirm-ok")))
	uiWait(t, ctx, "revoked", fmt.Sprintf(`(document.querySelector('#signing-table tr[data-kid="%s"] .badge') || {}).textContent === 'revoked'`, kid))
	if code := uploadStatus(t, s.url, uploadJWT(t, kid, secret), "late.txt", []byte("late")); code != http.StatusUnauthorized {
		t.Errorf("an upload JWT of the revoked key: status %d, want 401", code)
	}
}

func TestUIAccessJWTsAreCreatedOnceShownCountedAndRevoked(t *testing.T) {
	s := uiStartServer(t)
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)
	uiOpen(t, ctx, "#keys-jwts", "#jwt-form")
	uiDo(t, ctx, "create an access JWT", chromedp.SendKeys(chromedp.CSS("#jwt-name"), "reporting"),
		chromedp.SendKeys(chromedp.CSS("#jwt-uses"), "5"),
		chromedp.Click(chromedp.CSS(`#jwt-scopes input[value="analytics:read"]`)),
		chromedp.Click(chromedp.CSS(`#jwt-form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#jwt-created")))
	jwt := uiEval[string](t, ctx, `document.querySelector('#jwt-created .secret code').textContent`)
	if strings.Count(jwt, ".") != 2 {
		t.Fatalf("the new JWT is shown as %q", jwt)
	}
	var who struct {
		Kind   string   `json:"kind"`
		Scopes []string `json:"scopes"`
	}
	apiOK(t, s.url, jwt, "GET", "/auth/whoami", nil, &who)
	if who.Kind != "access_jwt" || strings.Join(who.Scopes, ",") != "pins:read,analytics:read" {
		t.Errorf("the JWT is a %s with scopes %v, want pins:read and analytics:read", who.Kind, who.Scopes)
	}
	uiOpen(t, ctx, "#files", "#files-table")
	uiOpen(t, ctx, "#keys-jwts", "#jwts-table")
	uiWait(t, ctx, "its use counted", `[...document.querySelectorAll('#jwts-table tbody tr')].some(tr =>
		tr.textContent.includes('reporting') && tr.querySelector('td[data-label="Uses"]').textContent === '1 of 5')`)
	uiScreenshot(t, ctx, "keys-jwts-1280")

	uiDo(t, ctx, "revoke", chromedp.Click(chromedp.CSS(`#jwts-table tbody tr button.danger`)),
		chromedp.WaitVisible(chromedp.CSS("#confirm")), chromedp.Click(chromedp.CSS("#confirm-ok")))
	uiWait(t, ctx, "revoked", `(document.querySelector('#jwts-table tbody tr .badge') || {}).textContent === 'revoked'`)
	if code := apiCall(t, s.url, jwt, "GET", "/upload/list", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("the revoked JWT: status %d, want 401", code)
	}
}

// visibleTabs lists the hrefs of the tabs the dashboard shows.
const visibleTabs = `[...document.querySelectorAll('#tabs a')].filter(a => !a.hidden).map(a => a.getAttribute('href')).join(' ')`

// scopedKey mints an API key of the default account with scopes.
func scopedKey(t *testing.T, n *ninja, scopes ...token.Scope) string {
	t.Helper()
	acct, err := n.app.Service.Account(t.Context(), pinning.Operator(), "default")
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := n.app.Service.CreateAPIKey(t.Context(), acct.ID, "scoped", scopes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestUIAReadOnlyKeyBrowsesFilesButCannotChangeThem(t *testing.T) {
	n := startNinja(t)
	s := &uiServer{url: n.url, admin: n.admin}
	up := uploadBytes(t, s.url, s.admin, "shared.txt", []byte("readable by every reader\n"))
	var g struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	apiOK(t, s.url, s.admin, "POST", "/v3/groups/public", map[string]any{"name": "shared"}, &g)
	apiOK(t, s.url, s.admin, "PUT", "/v3/groups/public/"+g.Data.ID+"/ids/"+up.ID, nil, nil)
	ctx := uiBrowser(t)
	uiSignInWith(t, ctx, s, scopedKey(t, n, token.ScopePinsRead))
	uiWait(t, ctx, "the file listed", fmt.Sprintf(`!!document.querySelector('#files-table tr[data-cid="%s"]')`, up.CID))
	if got := uiEval[string](t, ctx, visibleTabs); got != "#files #groups #pins" {
		t.Errorf("tabs shown %q, want only #files #groups #pins", got)
	}
	if n := uiEval[int](t, ctx, `document.querySelectorAll('#files-table button.danger, #files-table .pick').length`); n != 0 {
		t.Errorf("%d unpin controls shown to a read-only key", n)
	}
	if !uiEval[bool](t, ctx, `document.querySelector('#files-bulk').hidden`) {
		t.Errorf("the bulk bar is shown to a read-only key")
	}
	uiOpen(t, ctx, "#file/"+up.ID, "#file-detail")
	if !uiEval[bool](t, ctx, `document.querySelector('#file-name').readOnly && document.querySelector('#file-form .actions').hidden`) {
		t.Errorf("a read-only key is offered to edit the record")
	}
	// It sees the file's group, and no way to change it.
	uiWait(t, ctx, "the file's group", fmt.Sprintf(`!!document.querySelector('#file-groups li[data-group="%s"]')`, g.Data.ID))
	if uiEval[bool](t, ctx, `!document.querySelector('#file-group-form').hidden || !!document.querySelector('#file-groups button')`) {
		t.Errorf("a read-only key is offered to change the file's groups")
	}
	uiOpen(t, ctx, "#groups", "#groups-table")
	uiWait(t, ctx, "the group listed", fmt.Sprintf(`!!document.querySelector('#groups-table tr[data-id="%s"]')`, g.Data.ID))
	if uiEval[bool](t, ctx, `!document.querySelector('#group-form').hidden || document.querySelectorAll('#groups-table .rename, #groups-table .delete').length > 0`) {
		t.Errorf("a read-only key is offered to create, rename or delete groups")
	}
	uiOpen(t, ctx, "#group/"+g.Data.ID, "#group-files")
	uiWait(t, ctx, "the group's file", fmt.Sprintf(`!!document.querySelector('#group-files tr[data-id="%s"]')`, up.ID))
	if n := uiEval[int](t, ctx, `document.querySelectorAll('#group-files .remove').length`); n != 0 {
		t.Errorf("a read-only key is offered to remove files from a group")
	}
	uiOpen(t, ctx, "#pins", "#queue-table")
	if uiEval[bool](t, ctx, `document.querySelector('#pin-form').offsetParent !== null`) {
		t.Errorf("a read-only key is offered the pin form")
	}
	// A view it may not use falls back to the files.
	uiOpen(t, ctx, "#server", "#view-files")
	uiScreenshot(t, ctx, "scopes-read-only-1280")
}

func TestUIAnAccessJWTSignsInAndKeepsToItsScopes(t *testing.T) {
	s := uiStartServer(t)
	var j struct {
		Token string `json:"token"`
	}
	apiOK(t, s.url, s.admin, "POST", "/auth/jwt", map[string]any{"name": "ops", "scopes": []string{"pins:read", "pins:write", "tokens:write"}, "expiresIn": "1h"}, &j)
	ctx := uiBrowser(t)
	uiSignInWith(t, ctx, s, j.Token)
	if got := uiEval[string](t, ctx, visibleTabs); got != "#files #groups #pins #keys" {
		t.Errorf("tabs shown %q", got)
	}
	uiOpen(t, ctx, "#keys", "#token-form")
	// Only an API key mints signing keys and JWTs: their forms give way to
	// a note; the lists stay.
	if uiEval[bool](t, ctx, `!document.querySelector('#signing-form').hidden || !document.querySelector('#jwt-form').hidden || !document.querySelector('#keys-apikeys').hidden`) {
		t.Errorf("an access JWT is offered forms it cannot use")
	}
	uiWait(t, ctx, "the JWT lists itself", `document.querySelectorAll('#jwts-table tbody tr').length >= 1`)
	uiNoHorizontalOverflow(t, ctx, "keys for a JWT")
}

func TestUIUploadOnlyCredentialsAreSentToTheUploadPage(t *testing.T) {
	n := startNinja(t)
	s := &uiServer{url: n.url, admin: n.admin}
	signIn := func(t *testing.T, cred, visible string) context.Context {
		ctx := uiBrowser(t)
		uiDo(t, ctx, "sign in", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS("#signin-key")),
			chromedp.SendKeys(chromedp.CSS("#signin-key"), cred),
			chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(visible)))
		return ctx
	}
	t.Run("an upload-only key uploads there", func(t *testing.T) {
		ctx := signIn(t, scopedKey(t, n, token.ScopeUpload), "#upload-section")
		if got := uiEval[string](t, ctx, `location.pathname + location.search`); got != "/upload" {
			t.Errorf("the upload page is at %q: the credential must not travel in the URL", got)
		}
		data := uiRandom(t, 100*1024)
		uiDo(t, ctx, "upload", chromedp.SetUploadFiles(chromedp.CSS(`#upload-section input[type="file"][multiple]:not([webkitdirectory])`),
			[]string{uiTempFile(t, "from-upload-key.bin", data)}))
		ups := uiUploads(t, ctx, 1)
		if ups[0].State != "done" || !bytes.Equal(uiGateway(t, s.url, ups[0].CID), data) {
			t.Errorf("the upload-only key's upload: %+v", ups[0])
		}
		uiScreenshot(t, ctx, "scopes-upload-only-1280")
	})
	t.Run("a pasted upload token shows its limits there", func(t *testing.T) {
		var tok struct {
			Token string `json:"token"`
		}
		apiOK(t, s.url, s.admin, "POST", "/upload-tokens", map[string]any{"name": "pasted", "expiresIn": "1h", "maxUploads": 3}, &tok)
		ctx := signIn(t, tok.Token, "#token-constraints")
		if got := uiEval[string](t, ctx, `document.querySelector('#token-constraints').textContent`); !strings.Contains(got, "3 of 3") {
			t.Errorf("the upload page's limits %q", got)
		}
	})
	t.Run("a key that can neither read nor upload is told so", func(t *testing.T) {
		ctx := signIn(t, scopedKey(t, n, token.ScopeAnalyticsRead), "#signin-error")
		if got := uiEval[string](t, ctx, `document.querySelector('#signin-error').textContent`); !strings.Contains(got, "neither read pins nor upload") {
			t.Errorf("sign-in error %q", got)
		}
		if uiEval[string](t, ctx, `sessionStorage.getItem('ninja.apiKey') || ''`) != "" {
			t.Errorf("a refused credential was kept in sessionStorage")
		}
	})
}

func TestUIServerViewCountsEachCIDOnceSetsTheQuotaAndRunsGC(t *testing.T) {
	s := uiStartServer(t)
	data := uiRandom(t, 2*1024*1024+123)
	a := uploadBytes(t, s.url, s.admin, "twice-a.bin", data)
	b := uploadBytes(t, s.url, s.admin, "twice-b.bin", data)
	var st struct {
		DagSize int64 `json:"dagSize"`
	}
	apiOK(t, s.url, s.admin, "GET", "/pins/"+a.CID, nil, &st)
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)
	uiOpen(t, ctx, "#server", "#usage-bytes")
	uiWait(t, ctx, "usage", `document.querySelector('#usage-pins').textContent === '2'`)
	if got, want := uiEval[string](t, ctx, `document.querySelector('#usage-bytes').textContent`), fmt.Sprintf("%.2f MB", float64(st.DagSize)/(1<<20)); got != want {
		t.Errorf("storage shows %q for one CID pinned twice, want %s (counted once)", got, want)
	}
	uiDo(t, ctx, "set max pins", chromedp.SendKeys(chromedp.CSS("#q-pins"), "10"),
		chromedp.Click(chromedp.CSS(`#quota-form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#quota-saved")))
	var q struct {
		Override struct {
			MaxPins int64 `json:"maxPins"`
		} `json:"override"`
	}
	apiOK(t, s.url, s.admin, "GET", "/admin/accounts/default/quota", nil, &q)
	if q.Override.MaxPins != 10 {
		t.Errorf("the account's max pins override is %d after saving 10", q.Override.MaxPins)
	}
	if got := uiEval[string](t, ctx, `[...document.querySelectorAll('#quota-table tbody tr')][1].textContent`); !strings.Contains(got, "10") {
		t.Errorf("the quota table's pins row %q", got)
	}
	uiScreenshot(t, ctx, "server-1280")

	// Unpin both records; GC then frees the blocks and says how many.
	for _, u := range []uploaded{a, b} {
		apiOK(t, s.url, s.admin, "DELETE", "/psa/pins/"+u.ID, nil, nil)
	}
	uiDo(t, ctx, "run GC", chromedp.Click(chromedp.CSS("#gc-run")), chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.Click(chromedp.CSS("#confirm-ok")), chromedp.WaitVisible(chromedp.CSS("#gc-result")))
	msg := uiEval[string](t, ctx, `document.querySelector('#gc-result').textContent`)
	var freed int
	if _, err := fmt.Sscanf(msg, "Freed %d blocks", &freed); err != nil || freed < 3 {
		t.Errorf("GC result %q: want the 3 blocks of the 2 MiB file freed", msg)
	}
	if code := apiCall(t, s.url, "", "GET", "/ipfs/"+a.CID, nil, nil); code == http.StatusOK {
		t.Errorf("the gateway still serves the collected CID")
	}
	uiWait(t, ctx, "usage after GC", `document.querySelector('#usage-pins').textContent === '0'`)
	uiAtWidth(t, ctx, 375)
	uiTablesFit(t, ctx, "server at 375 px", false)
	uiScreenshot(t, ctx, "server-375")
}

func TestUIEveryTableFitsAtPhoneTabletAndDesktopWidths(t *testing.T) {
	s := uiStartServer(t)
	long := strings.Repeat("a-rather-long-file-name-", 4) + ".txt"
	uploadBytes(t, s.url, s.admin, long, []byte("long name\n"))
	apiOK(t, s.url, s.admin, "POST", "/upload-tokens", map[string]any{"name": "browser uploads for the marketing site", "expiresIn": "1h",
		"maxUploads": 10, "maxSizeMB": 5, "allowedMimeTypes": []string{"image/*"}}, nil)
	apiOK(t, s.url, s.admin, "POST", "/upload-signing-keys", map[string]any{"name": "backend"}, nil)
	apiOK(t, s.url, s.admin, "POST", "/auth/jwt", map[string]any{"name": "reporting", "scopes": []string{"pins:read", "analytics:read", "tokens:write"}, "expiresIn": "24h", "maxUses": 1000}, nil)
	apiOK(t, s.url, s.admin, "POST", "/pin", map[string]any{"cid": randomCID(t), "name": "waiting"}, nil)
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)
	views := []struct{ hash, ready string }{
		{"#files", `document.querySelectorAll('#files-table tbody tr').length >= 2`},
		{"#pins", `document.querySelectorAll('#queue-table tbody tr').length === 1`},
		{"#keys", `document.querySelectorAll('#tokens-table tbody tr').length === 1 && document.querySelectorAll('#signing-table tbody tr').length === 1 &&
			document.querySelectorAll('#jwts-table tbody tr').length === 1 && document.querySelectorAll('#keys-table tbody tr').length >= 2`},
		{"#analytics", `document.querySelectorAll('#view-analytics svg').length === 3`},
		{"#server", `document.querySelectorAll('#quota-table tbody tr').length === 4`},
	}
	for _, w := range []int{1280, 768, 375} {
		uiAtWidth(t, ctx, w)
		for _, v := range views {
			uiOpen(t, ctx, v.hash, "#view-"+strings.TrimPrefix(v.hash, "#"))
			uiWait(t, ctx, v.hash+" filled", v.ready)
			uiTablesFit(t, ctx, fmt.Sprintf("%s at %d px", v.hash, w), w >= 1280)
			uiScreenshot(t, ctx, fmt.Sprintf("width-%s-%d", strings.TrimPrefix(v.hash, "#"), w))
		}
	}
}

// uploadStatus is the status of a one-file upload with cred.
func uploadStatus(t *testing.T, base, cred, name string, data []byte) int {
	t.Helper()
	code, _ := postFile(t, base, cred, name, data)
	return code
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
