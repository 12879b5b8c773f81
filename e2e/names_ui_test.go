//go:build e2e

package e2e

// Browser tests of the dashboard's Names view: IPNS names created,
// published to from a file's page and from the view, checked through the
// API and the gateway, deleted after confirmation, and hidden from a
// credential without scope names.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/token"
)

// ipnsGet fetches /ipns/{name} from the gateway: the status and body.
func ipnsGet(t *testing.T, base, name string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/ipns/"+name, nil)
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
	return resp.StatusCode, b
}

// uiNoToast hides a toast still showing, so a screenshot shows what is
// under it.
func uiNoToast(t *testing.T, ctx context.Context) {
	t.Helper()
	uiEval[bool](t, ctx, `(document.querySelector('#toast').hidden = true, true)`)
}

func TestUINamesAreCreatedPublishedFromAFilesPageCheckedAndDeleted(t *testing.T) {
	s := uiStartServer(t)
	first := []byte("the first version of the blog\n")
	second := []byte("the second version of the blog, a little longer\n")
	v1 := uploadBytes(t, s.url, s.admin, "blog-v1.txt", first)
	v2 := uploadBytes(t, s.url, s.admin, "blog-v2.txt", second)
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)
	if !strings.Contains(uiEval[string](t, ctx, visibleTabs), "#names") {
		t.Fatalf("an admin key is not shown the Names tab: %q", uiEval[string](t, ctx, visibleTabs))
	}

	// Create a name in the view: listed, not published yet.
	uiOpen(t, ctx, "#names", "#name-form")
	uiDo(t, ctx, "create a name", chromedp.SendKeys(chromedp.CSS("#name-label"), "blog"),
		chromedp.Click(chromedp.CSS(`#name-form button[type="submit"]`)))
	uiWait(t, ctx, "the name listed", `!!document.querySelector('#names-table tr[data-label="blog"]')`)
	ipns := uiEval[string](t, ctx, `document.querySelector('#names-table tr[data-label="blog"]').dataset.name`)
	if !strings.HasPrefix(ipns, "k51") {
		t.Fatalf("the listed IPNS name %q is not a k51… name", ipns)
	}
	row := fmt.Sprintf(`#names-table tr[data-name="%s"]`, ipns)
	if got := uiEval[string](t, ctx, fmt.Sprintf(`document.querySelector('%s .name-value').textContent`, row)); got != "not published yet" {
		t.Errorf("a new name's value reads %q", got)
	}
	if got := uiEval[string](t, ctx, fmt.Sprintf(`document.querySelector('%s a.ipns-path').getAttribute('href')`, row)); got != "/ipns/"+ipns {
		t.Errorf("the gateway link is %q, want /ipns/%s", got, ipns)
	}

	// Publish the first file's CID from its page.
	uiOpen(t, ctx, "#file/"+v1.ID, "#file-detail")
	uiWait(t, ctx, "the name offered", fmt.Sprintf(`!!document.querySelector('#file-ipns-pick option[value="%s"]')`, ipns))
	uiEval[bool](t, ctx, fmt.Sprintf(`(document.querySelector('#file-ipns-pick').value = %q, true)`, ipns))
	uiDo(t, ctx, "publish to the name", chromedp.Click(chromedp.CSS(`#file-ipns-form button[type="submit"]`)))
	uiWait(t, ctx, "the publish result", `!document.querySelector('#file-ipns-done').hidden`)
	if got := uiEval[string](t, ctx, `document.querySelector('#file-ipns-done').textContent`); !strings.Contains(got, "sequence 0") {
		t.Errorf("the file page says %q after publishing", got)
	}
	uiWait(t, ctx, "the name points at the file", fmt.Sprintf(`!!document.querySelector('#file-ipns li[data-name="%s"]')`, ipns))
	uiNoToast(t, ctx)
	uiScreenshot(t, ctx, "file-names-1280")
	uiAtWidth(t, ctx, 375)
	uiNoHorizontalOverflow(t, ctx, "a file's names at 375 px")
	uiNoToast(t, ctx)
	uiScreenshot(t, ctx, "file-names-375")
	uiAtWidth(t, ctx, 1280)

	// The list shows the value and sequence 0.
	uiOpen(t, ctx, "#names", "#names-table")
	uiWait(t, ctx, "value and sequence 0", fmt.Sprintf(`(document.querySelector('%[1]s .name-value') || {}).textContent === '/ipfs/%[2]s' &&
		document.querySelector('%[1]s .name-seq').textContent === '0'`, row, v1.CID))

	// A CID not stored here is refused with ninja's reason; nothing changes.
	uiDo(t, ctx, "choose the name", chromedp.Click(chromedp.CSS(row+" .publish")))
	if got := uiEval[string](t, ctx, `document.querySelector('#publish-name').value`); got != ipns {
		t.Errorf("the row's Publish button chose %q, want %s", got, ipns)
	}
	uiDo(t, ctx, "publish a CID not stored", chromedp.SendKeys(chromedp.CSS("#publish-value"), randomCID(t)),
		chromedp.Click(chromedp.CSS(`#publish-form button[type="submit"]`)))
	uiWait(t, ctx, "the refusal", `!document.querySelector('#publish-error').hidden`)
	if got := uiEval[string](t, ctx, `document.querySelector('#publish-error').textContent`); !strings.Contains(got, "BAD_REQUEST") || !strings.Contains(got, "not stored") {
		t.Errorf("a CID not stored is refused with %q", got)
	}
	// A sequence not above the current one is a 409, shown with its reason.
	uiEval[bool](t, ctx, `(document.querySelector('#publish-value').value = '', true)`)
	uiDo(t, ctx, "publish with a stale sequence", chromedp.SendKeys(chromedp.CSS("#publish-value"), "/ipfs/"+v2.CID),
		chromedp.SendKeys(chromedp.CSS("#publish-seq"), "0"),
		chromedp.Click(chromedp.CSS(`#publish-form button[type="submit"]`)))
	uiWait(t, ctx, "the conflict", `document.querySelector('#publish-error').textContent.includes('CONFLICT')`)
	if got := uiEval[string](t, ctx, `document.querySelector('#publish-error').textContent`); !strings.Contains(got, "sequence") {
		t.Errorf("a stale sequence is refused with %q", got)
	}

	// Publish the second file from the view: sequence 1.
	uiEval[bool](t, ctx, `(document.querySelector('#publish-seq').value = '', true)`)
	uiDo(t, ctx, "publish again", chromedp.Click(chromedp.CSS(`#publish-form button[type="submit"]`)))
	uiWait(t, ctx, "sequence 1", fmt.Sprintf(`(document.querySelector('%s .name-seq') || {}).textContent === '1'`, row))
	if got := uiEval[string](t, ctx, `document.querySelector('#publish-done').textContent`); !strings.Contains(got, "sequence 1") {
		t.Errorf("the view says %q after publishing again", got)
	}
	if !uiEval[bool](t, ctx, `document.querySelector('#publish-error').hidden`) {
		t.Errorf("the earlier refusal is still shown after a publish that worked")
	}

	// The API and the gateway agree.
	var got struct {
		Value    string `json:"value"`
		Sequence uint64 `json:"sequence"`
	}
	apiOK(t, s.url, s.admin, "GET", "/names/"+ipns, nil, &got)
	if got.Value != "/ipfs/"+v2.CID || got.Sequence != 1 {
		t.Errorf("GET /names/%s: value %q sequence %d, want /ipfs/%s and 1", ipns, got.Value, got.Sequence, v2.CID)
	}
	if code, body := ipnsGet(t, s.url, ipns); code != http.StatusOK || !bytes.Equal(body, second) {
		t.Errorf("GET /ipns/%s: %d %q, want the second file's bytes", ipns, code, body)
	}

	// An upload token bound to the name: picked in the token form, shown
	// once created, and in the server's list of tokens.
	uiOpen(t, ctx, "#keys", "#token-form")
	uiWait(t, ctx, "the name offered for tokens", fmt.Sprintf(`!!document.querySelector('#tok-publish option[value="%s"]')`, ipns))
	uiEval[bool](t, ctx, fmt.Sprintf(`(document.querySelector('#tok-publish').value = %q, true)`, ipns))
	uiDo(t, ctx, "mint a token for the name", chromedp.SendKeys(chromedp.CSS("#tok-name"), "blog editor"),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)))
	uiWait(t, ctx, "the token's name", fmt.Sprintf(`(document.querySelector('#token-publish-name') || {textContent: ''}).textContent.includes(%q)`, ipns))
	var toks []struct {
		TokenName   string `json:"tokenName"`
		PublishName string `json:"publishName"`
	}
	apiOK(t, s.url, s.admin, "GET", "/signed-tokens", nil, &toks)
	if len(toks) != 1 || toks[0].PublishName != ipns {
		t.Errorf("GET /signed-tokens: %+v, want one token bound to %s", toks, ipns)
	}
	uiNoToast(t, ctx)
	uiScreenshot(t, ctx, "names-token-1280")

	// Every width fits; a second name makes it a list.
	apiOK(t, s.url, s.admin, "POST", "/names", map[string]any{"name": "a-rather-long-label-for-the-profile-of-the-marketing-site"}, nil)
	uiOpen(t, ctx, "#files", "#files-table")
	uiOpen(t, ctx, "#names", "#names-table")
	uiWait(t, ctx, "two names", `document.querySelectorAll('#names-table tbody tr').length === 2`)
	for _, w := range []int{1280, 768, 375} {
		uiAtWidth(t, ctx, w)
		uiTablesFit(t, ctx, fmt.Sprintf("names at %d px", w), w >= 1000)
		uiNoToast(t, ctx)
		uiScreenshot(t, ctx, fmt.Sprintf("names-%d", w))
	}
	uiAtWidth(t, ctx, 1280)

	// Delete, asked first: cancelling keeps the name.
	del := row + " .delete"
	uiDo(t, ctx, "ask to delete", chromedp.Click(chromedp.CSS(del)), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	uiScreenshot(t, ctx, "names-delete-1280")
	uiDo(t, ctx, "cancel", chromedp.Click(chromedp.CSS("#confirm-cancel")))
	if code := apiCall(t, s.url, s.admin, "GET", "/names/"+ipns, nil, nil); code != http.StatusOK {
		t.Fatalf("the name answers %d after a cancelled delete", code)
	}
	uiDo(t, ctx, "delete", chromedp.Click(chromedp.CSS(del)), chromedp.WaitVisible(chromedp.CSS("#confirm")), chromedp.Click(chromedp.CSS("#confirm-ok")))
	uiWait(t, ctx, "one name left", `document.querySelectorAll('#names-table tbody tr').length === 1`)
	if code := apiCall(t, s.url, s.admin, "GET", "/names/"+ipns, nil, nil); code != http.StatusNotFound {
		t.Errorf("the deleted name answers %d, want 404", code)
	}
	if code, _ := ipnsGet(t, s.url, ipns); code == http.StatusOK {
		t.Errorf("GET /ipns/%s still answers 200 after the delete", ipns)
	}
}

func TestUINamesAreHiddenFromACredentialWithoutScopeNames(t *testing.T) {
	n := startNinja(t)
	s := &uiServer{url: n.url, admin: n.admin}
	up := uploadBytes(t, s.url, s.admin, "page.txt", []byte("no names here\n"))
	apiOK(t, s.url, s.admin, "POST", "/names", map[string]any{"name": "blog"}, nil)
	ctx := uiBrowser(t)
	uiSignInWith(t, ctx, s, scopedKey(t, n, token.ScopePinsRead, token.ScopePinsWrite, token.ScopeTokensWrite))
	if got := uiEval[string](t, ctx, visibleTabs); strings.Contains(got, "#names") {
		t.Errorf("tabs shown %q: Names without scope names", got)
	}
	// The view itself falls back to the files; a file's page offers no publish.
	uiOpen(t, ctx, "#names", "#view-files")
	uiOpen(t, ctx, "#file/"+up.ID, "#file-detail")
	if uiEval[bool](t, ctx, `document.querySelector('#file-ipns-form').offsetParent !== null`) {
		t.Errorf("a credential without scope names is offered to publish the file to a name")
	}
	uiOpen(t, ctx, "#keys", "#token-form")
	if uiEval[bool](t, ctx, `!!document.querySelector('#tok-publish') && document.querySelector('#tok-publish').offsetParent !== null`) {
		t.Errorf("a credential without scope names is offered to bind a token to a name")
	}
}

// With --gateway-domains, a name's row links to its own origin,
// {name}.ipns.{domain}, which serves the name's current value.
func TestUINamesLinkToTheNamesOwnOriginOnASubdomainGateway(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	domain := fmt.Sprintf("localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	n := startNinjaWith(t, ln, func(o *app.Options) { o.GatewayDomains = []string{domain} })
	s := &uiServer{url: n.url, admin: n.admin}
	up := uploadBytes(t, s.url, s.admin, "index.html", []byte(`<!doctype html><title>named site</title><p id="p">served by name</p>`))
	var name struct {
		IPNSName string `json:"ipnsName"`
	}
	apiOK(t, s.url, s.admin, "POST", "/names", map[string]any{"name": "site"}, &name)
	apiOK(t, s.url, s.admin, "POST", "/names/site", map[string]any{"value": "/ipfs/" + up.CID}, nil)

	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)
	uiOpen(t, ctx, "#names", "#names-table")
	row := fmt.Sprintf(`#names-table tr[data-name="%s"]`, name.IPNSName)
	uiWait(t, ctx, "the name listed", fmt.Sprintf(`!!document.querySelector('%s a.ipns-subdomain')`, row))
	want := fmt.Sprintf("http://%s.ipns.%s/", name.IPNSName, domain)
	if got := uiEval[string](t, ctx, fmt.Sprintf(`document.querySelector('%s a.ipns-subdomain').href`, row)); got != want {
		t.Fatalf("the name's subdomain link is %q, want %q", got, want)
	}
	uiDo(t, ctx, "open the name's origin", chromedp.Navigate(want))
	if got := uiEval[string](t, ctx, `(document.querySelector('#p') || {}).textContent || document.body.textContent`); got != "served by name" {
		t.Errorf("the name's origin serves %q", got)
	}
}
