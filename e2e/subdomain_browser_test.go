//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ninja-ipfs/ninja/app"
)

// With --gateway-domains, the dashboard links a file to its own origin,
// and in a real browser an uploaded page's script runs there: with its
// own storage, none of the dashboard's, and no sandbox. Chromium resolves
// every *.localhost name to loopback, so localhost:PORT can be the
// gateway domain without a DNS server.
func TestUISubdomainLinkOpensTheUploadInItsOwnOriginWhereItsScriptsRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	domain := fmt.Sprintf("localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	n := startNinjaWith(t, ln, func(o *app.Options) { o.GatewayDomains = []string{domain} })
	s := &uiServer{url: n.url, admin: n.admin}
	page := []byte(`<!doctype html><html><head><title>site</title></head><body><p id="p">hello from the site</p>` +
		`<script>localStorage.setItem('site-key', 'site-value');` +
		`document.title = 'ran at ' + location.origin + ' with ' + localStorage.getItem('site-key');</script></body></html>`)
	up := uploadBytes(t, s.url, s.admin, "index.html", page)

	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)
	uiOpen(t, ctx, "#file/"+up.ID, "#file-detail")
	want := fmt.Sprintf("http://%s.ipfs.%s/", up.CID, domain)
	if got := uiEval[string](t, ctx, `(document.querySelector('#file-subdomain') || {}).href || ''`); got != want {
		t.Fatalf("the file's subdomain link is %q, want %q", got, want)
	}
	if got := uiEval[string](t, ctx, `document.querySelector('#file-gateway').getAttribute('href')`); got != "/ipfs/"+up.CID {
		t.Errorf("the path gateway link is %q, want /ipfs/%s beside the subdomain one", got, up.CID)
	}
	uiEval[bool](t, ctx, `localStorage.removeItem('site-key'), true`)

	uiDo(t, ctx, "open the subdomain link", chromedp.Navigate(want))
	origin := fmt.Sprintf("http://%s.ipfs.%s", up.CID, domain)
	if got := uiEval[string](t, ctx, `document.title`); got != "ran at "+origin+" with site-value" {
		t.Errorf("the site's script: title %q, want it to have run at %s with its own storage", got, origin)
	}
	if got := uiEval[string](t, ctx, `document.querySelector('#p').textContent`); got != "hello from the site" {
		t.Errorf("the page served at its subdomain says %q", got)
	}

	// Back on the dashboard's origin, the site's storage is not there.
	uiDo(t, ctx, "back to the dashboard", chromedp.Navigate(s.url+"/"))
	if got := uiEval[bool](t, ctx, `localStorage.getItem('site-key') === null`); !got {
		t.Error("the site's localStorage entry is visible from the dashboard's origin")
	}
}
