//go:build e2e

package e2e

// Browser tests of the dashboard's file views: a file's page (preview,
// details, editing, the other pins of its CID), bulk unpin, sizes of pins
// by CID, and the pin-by-CID queue.

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ninja-ipfs/ninja/pinning"
)

// filePreview is what a file's page shows in its preview box.
type filePreview struct {
	Tag     string  `json:"tag"`
	Src     string  `json:"src"`
	Sandbox *string `json:"sandbox"`
	Ready   bool    `json:"ready"`  // the element loaded its media (image decoded, media metadata read)
	Opaque  bool    `json:"opaque"` // a frame whose document this page cannot reach
	Doc     string  `json:"doc"`    // a reachable frame's document: its type and script count
}

const previewJS = `(() => {
	const n = document.querySelector('#file-preview > *');
	if (!n) return null;
	const tag = n.tagName.toLowerCase();
	const ready = tag === 'img' ? n.complete && n.naturalWidth > 0
		: (tag === 'video' || tag === 'audio') ? n.readyState >= 1 && n.duration > 0 : true;
	let opaque = false;
	let doc = '';
	try { opaque = tag === 'iframe' && n.contentDocument === null; } catch { opaque = true; }
	if (tag === 'iframe' && !opaque) doc = n.contentDocument.contentType + ' scripts=' + n.contentDocument.scripts.length;
	return { tag, src: n.getAttribute('src') || '', sandbox: n.hasAttribute('sandbox') ? n.getAttribute('sandbox') : null, ready, opaque, doc };
})()`

func TestUIFileViewPreviewsEveryKindFromTheGateway(t *testing.T) {
	s := uiStartServer(t)
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)

	// A video the browser itself records (a canvas through MediaRecorder):
	// real WebM bytes, uploaded with the client library as an app would.
	video := uiEvalAwait[string](t, ctx, `(async () => {
		const { Ninja } = await import('/js/ninja.js');
		const c = document.createElement('canvas'); c.width = 160; c.height = 120;
		const g = c.getContext('2d');
		const rec = new MediaRecorder(c.captureStream(25), { mimeType: 'video/webm' });
		const parts = [];
		rec.ondataavailable = (e) => parts.push(e.data);
		const stopped = new Promise((r) => { rec.onstop = r; });
		rec.start();
		let f = 0;
		const tick = setInterval(() => { g.fillStyle = 'hsl(' + (f++ * 12) + ',80%,50%)'; g.fillRect(0, 0, 160, 120); }, 40);
		await new Promise((r) => setTimeout(r, 1200));
		rec.stop(); await stopped; clearInterval(tick);
		const ninja = new Ninja({ token: sessionStorage.getItem('ninja.apiKey') });
		return (await ninja.upload(new File(parts, 'clip.webm', { type: 'video/webm' }))).cid;
	})()`)
	_, vids := listUploads(t, s.url, s.admin, "cid="+video)

	// sandbox: the frame's sandbox attribute ("" is the strictest; nil
	// none, for a PDF, which Chromium will not show in a sandboxed frame:
	// the gateway's CSP sandbox must then hold alone).
	empty := ""
	cases := []struct {
		name, tag string
		up        uploaded
		sandbox   *string
	}{
		{"an image is an img", "img", uploadBytes(t, s.url, s.admin, "photo.png", pngBytes(t, 320, 200)), nil},
		{"audio is an audio player", "audio", uploadBytes(t, s.url, s.admin, "tone.wav", wavBytes()), nil},
		{"text is a sandboxed frame", "iframe", uploadBytes(t, s.url, s.admin, "notes.txt", []byte("Notes from the e2e test.\nSecond line.\n")), &empty},
		{"a PDF is a frame the gateway sandboxes", "iframe", uploadBytes(t, s.url, s.admin, "paper.pdf", pdfBytes("Hello from ninja")), nil},
		{"video is a video player", "video", uploaded{CID: video, ID: vids[0].ID, Name: "clip.webm"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			uiOpen(t, ctx, "#file/"+tc.up.ID, "#file-detail")
			uiWait(t, ctx, "the preview", `(`+previewJS+` || {}).ready === true`)
			p := uiEval[filePreview](t, ctx, previewJS)
			if p.Tag != tc.tag || p.Src != "/ipfs/"+tc.up.CID {
				t.Errorf("preview %+v, want a %s of /ipfs/%s", p, tc.tag, tc.up.CID)
			}
			if (p.Sandbox == nil) != (tc.sandbox == nil) || (p.Sandbox != nil && *p.Sandbox != *tc.sandbox) {
				t.Errorf("the element's sandbox attribute is %v, want %v", p.Sandbox, tc.sandbox)
			}
			if tc.tag == "iframe" {
				switch {
				case tc.sandbox != nil && !p.Opaque:
					t.Errorf("the dashboard can reach the framed document (%s): it is not in an opaque origin", p.Doc)
				case tc.sandbox == nil && !p.Opaque && p.Doc != "application/pdf scripts=0":
					// Chromium shows a PDF in a document of its own making
					// that holds the viewer and nothing of the file's.
					t.Errorf("the unsandboxed PDF frame holds %q, want the browser's PDF viewer", p.Doc)
				}
				// Whatever the frame says, the document is sandboxed by the
				// gateway itself, without allow-same-origin.
				if csp := uiGatewayHeader(t, s.url, tc.up.CID, "Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") || strings.Contains(csp, "allow-same-origin") {
					t.Errorf("the gateway serves the previewed file with CSP %q", csp)
				}
			}
			if got := uiEval[string](t, ctx, `document.querySelector('#file-h').textContent`); got != tc.up.Name {
				t.Errorf("heading %q, want %q", got, tc.up.Name)
			}
			if got := uiEval[string](t, ctx, `document.querySelector('#file-cid').textContent`); got != tc.up.CID {
				t.Errorf("CID shown %q", got)
			}
		})
	}
	uiOpen(t, ctx, "#file/"+cases[0].up.ID, "#file-detail")
	uiWait(t, ctx, "the image", `(`+previewJS+` || {}).ready === true`)
	uiScreenshot(t, ctx, "file-image-1280")
	uiOpen(t, ctx, "#file/"+cases[3].up.ID, "#file-detail")
	uiWait(t, ctx, "the PDF frame", `(`+previewJS+` || {}).tag === 'iframe'`)
	time.Sleep(2500 * time.Millisecond) // let the PDF viewer draw the page
	uiScreenshot(t, ctx, "file-pdf-1280")
	uiAtWidth(t, ctx, 375)
	uiOpen(t, ctx, "#file/"+cases[2].up.ID, "#file-detail")
	uiWait(t, ctx, "the text frame", `(`+previewJS+` || {}).tag === 'iframe'`)
	time.Sleep(300 * time.Millisecond)
	uiNoHorizontalOverflow(t, ctx, "a file's page at 375 px")
	uiScreenshot(t, ctx, "file-text-375")
}

func TestUIFileViewEditsTheRecordAndListsTheOtherPinsOfItsCID(t *testing.T) {
	s := uiStartServer(t)
	data := []byte("the same bytes, pinned twice\n")
	first := uploadBytes(t, s.url, s.admin, "first.txt", data)
	second := uploadBytes(t, s.url, s.admin, "second.txt", data)
	var st struct {
		DagSize int64 `json:"dagSize"`
	}
	apiOK(t, s.url, s.admin, "GET", "/pins/"+first.CID, nil, &st)
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)

	uiOpen(t, ctx, "#file/"+second.ID, "#file-detail")
	uiWait(t, ctx, "the other pin listed", `document.querySelectorAll('#file-others a').length === 1`)
	if got := uiEval[string](t, ctx, `document.querySelector('#file-others a').getAttribute('href')`); got != "#file/"+first.ID {
		t.Errorf("the other pin links to %q, want #file/%s", got, first.ID)
	}
	if got := uiEval[string](t, ctx, `document.querySelector('#file-dag').textContent`); !strings.Contains(got, fmt.Sprintf("%d bytes", st.DagSize)) {
		t.Errorf("DAG size shown %q, want %d bytes", got, st.DagSize)
	}
	if got := uiEval[string](t, ctx, `document.querySelector('#file-gateway').getAttribute('href')`); got != "/ipfs/"+second.CID {
		t.Errorf("gateway link %q", got)
	}

	// Rename, describe, and add two metadata fields.
	uiEval[bool](t, ctx, `(() => { const n = document.querySelector('#file-name'); n.value = ''; return true; })()`)
	uiDo(t, ctx, "edit",
		chromedp.SendKeys(chromedp.CSS("#file-name"), "renamed.txt"),
		chromedp.SendKeys(chromedp.CSS("#file-desc"), "edited in the dashboard"),
		chromedp.Click(chromedp.CSS("#file-meta-add")),
		chromedp.SendKeys(chromedp.CSS("#file-meta .meta-row:last-child .meta-key"), "project"),
		chromedp.SendKeys(chromedp.CSS("#file-meta .meta-row:last-child .meta-value"), "apollo"),
		chromedp.Click(chromedp.CSS("#file-meta-add")),
		chromedp.SendKeys(chromedp.CSS("#file-meta .meta-row:last-child .meta-key"), "stage"),
		chromedp.SendKeys(chromedp.CSS("#file-meta .meta-row:last-child .meta-value"), "draft"),
	)
	uiScreenshot(t, ctx, "file-edit-1280")
	uiDo(t, ctx, "save", chromedp.Click(chromedp.CSS(`#file-form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#file-saved")))
	var rec listItem
	apiOK(t, s.url, s.admin, "GET", "/uploads/"+second.ID, nil, &rec)
	if rec.Name != "renamed.txt" || rec.Description != "edited in the dashboard" ||
		rec.Metadata["project"] != "apollo" || rec.Metadata["stage"] != "draft" || len(rec.Metadata) != 2 {
		t.Errorf("the record after saving: %+v", rec)
	}
	if got := uiEval[string](t, ctx, `document.querySelector('#file-h').textContent`); got != "renamed.txt" {
		t.Errorf("heading after saving %q", got)
	}

	// Removing a field and saving removes it from the record.
	uiDo(t, ctx, "remove a field", chromedp.Click(chromedp.CSS(`#file-meta .meta-row:first-child .meta-remove`)))
	uiEval[bool](t, ctx, `document.querySelector('#file-saved').hidden = true`)
	uiDo(t, ctx, "save again",
		chromedp.Click(chromedp.CSS(`#file-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#file-saved")),
	)
	rec = listItem{} // Unmarshal would merge into the old map
	apiOK(t, s.url, s.admin, "GET", "/uploads/"+second.ID, nil, &rec)
	if len(rec.Metadata) != 1 {
		t.Errorf("metadata after removing a field: %v", rec.Metadata)
	}

	// Unpin from the page removes this record only: the other keeps the CID.
	uiDo(t, ctx, "unpin", chromedp.Click(chromedp.CSS("#file-unpin")), chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.Click(chromedp.CSS("#confirm-ok")), chromedp.WaitVisible(chromedp.CSS("#view-files")))
	if n, items := listUploads(t, s.url, s.admin, "cid="+first.CID); n != 1 || items[0].ID != first.ID {
		t.Errorf("after unpinning one record of the CID: %d left %+v", n, items)
	}
	if got := uiGateway(t, s.url, first.CID); !bytes.Equal(got, data) {
		t.Errorf("the gateway no longer serves the CID another record pins")
	}
}

func TestUIBulkUnpinRemovesTheSelectedFilesAfterConfirmation(t *testing.T) {
	s := uiStartServer(t)
	var ups []uploaded
	for i := 0; i < 4; i++ {
		ups = append(ups, uploadBytes(t, s.url, s.admin, fmt.Sprintf("bulk-%d.txt", i), []byte(fmt.Sprintf("bulk file %d\n", i))))
	}
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)
	uiWait(t, ctx, "four rows", `document.querySelectorAll('#files-table tbody tr').length === 4`)
	// Newest first: select the three newest (bulk-3, bulk-2, bulk-1).
	for _, u := range ups[1:] {
		uiDo(t, ctx, "select "+u.Name, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#files-table tr[data-id="%s"] .pick`, u.ID))))
	}
	if got := uiEval[string](t, ctx, `document.querySelector('#files-unpin').textContent`); got != "Unpin selected (3)" {
		t.Errorf("bulk button %q", got)
	}
	uiDo(t, ctx, "ask", chromedp.Click(chromedp.CSS("#files-unpin")), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	listed := uiEval[[]string](t, ctx, `[...document.querySelectorAll('#confirm-list li')].map(li => li.textContent)`)
	if len(listed) != 3 {
		t.Errorf("the confirmation lists %v, want the 3 files", listed)
	}
	uiScreenshot(t, ctx, "files-bulk-confirm-1280")

	// Cancelling changes nothing.
	uiDo(t, ctx, "cancel", chromedp.Click(chromedp.CSS("#confirm-cancel")))
	if n, _ := listUploads(t, s.url, s.admin, ""); n != 4 {
		t.Fatalf("%d files after cancelling, want 4", n)
	}
	uiDo(t, ctx, "confirm", chromedp.Click(chromedp.CSS("#files-unpin")), chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.Click(chromedp.CSS("#confirm-ok")))
	uiWait(t, ctx, "one row left", `document.querySelectorAll('#files-table tbody tr').length === 1`)
	n, items := listUploads(t, s.url, s.admin, "")
	if n != 1 || items[0].ID != ups[0].ID {
		t.Errorf("after the bulk unpin: %d left %+v, want only %s", n, items, ups[0].Name)
	}
	uiAtWidth(t, ctx, 375)
	uiTablesFit(t, ctx, "files at 375 px", false)
	uiScreenshot(t, ctx, "files-375")
}

func TestUIAPinByCIDOfContentHereShowsItsDAGSize(t *testing.T) {
	n := startNinja(t)
	s := &uiServer{url: n.url, admin: n.admin}
	// Content another account uploaded is here already: pinning its CID is
	// immediate, and the pin-by-CID record uploaded no bytes of its own.
	other, _ := n.app.Service.CreateAccount(t.Context(), "other")
	otherKey, _, err := n.app.Service.CreateAPIKey(t.Context(), other.ID, "o", pinning.DefaultKeyScopes())
	if err != nil {
		t.Fatal(err)
	}
	local := uploadBytes(t, s.url, otherKey, "elsewhere.bin", uiRandom(t, 300*1024))
	var st struct {
		DagSize int64 `json:"dagSize"`
	}
	apiOK(t, s.url, otherKey, "GET", "/pins/"+local.CID, nil, &st)

	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)
	uiOpen(t, ctx, "#pins", "#pin-form")
	uiDo(t, ctx, "pin a local CID", chromedp.SendKeys(chromedp.CSS("#pin-cid"), local.CID),
		chromedp.SendKeys(chromedp.CSS("#pin-name"), "by cid"), chromedp.Click(chromedp.CSS(`#pin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#pin-done")))
	if got := uiEval[string](t, ctx, `document.querySelector('#pin-done').textContent`); !strings.Contains(got, "pinned") {
		t.Errorf("pinning a local CID says %q", got)
	}
	uiOpen(t, ctx, "#files", "#files-table")
	uiWait(t, ctx, "the pin listed", fmt.Sprintf(`!!document.querySelector('#files-table tr[data-cid="%s"]')`, local.CID))
	size := uiEval[string](t, ctx, fmt.Sprintf(`document.querySelector('#files-table tr[data-cid="%s"] td[data-label="Size"]').textContent`, local.CID))
	if want := fmt.Sprintf("%.0f KB", float64(st.DagSize)/1024); size != want {
		t.Errorf("a pin by CID's size shows %q, want its DAG size %s", size, want)
	}

	// A malformed CID is refused in the form, with the API's reason.
	uiOpen(t, ctx, "#pins", "#pin-form")
	uiDo(t, ctx, "pin garbage", chromedp.SendKeys(chromedp.CSS("#pin-cid"), "not-a-cid"),
		chromedp.Click(chromedp.CSS(`#pin-form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#pin-error")))
	if got := uiEval[string](t, ctx, `document.querySelector('#pin-error').textContent`); !strings.Contains(got, "INVALID_CID") {
		t.Errorf("a bad CID says %q", got)
	}
}

func TestUIThePinQueueShowsEachRequestWithItsReasonAndCancels(t *testing.T) {
	n := startNinjaFetching(t, 4*time.Second)
	s := &uiServer{url: n.url, admin: n.admin}
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)
	// Two CIDs nobody has, with an origin nobody listens on: one is
	// cancelled, the other fails when its fetch times out.
	missing := []string{randomCID(t), randomCID(t)}
	origin := "/ip4/127.0.0.1/tcp/9/p2p/" + randomPeerID(t)
	uiOpen(t, ctx, "#pins", "#pin-form")
	for i, c := range missing {
		uiDo(t, ctx, "pin a missing CID", chromedp.SendKeys(chromedp.CSS("#pin-cid"), c),
			chromedp.SendKeys(chromedp.CSS("#pin-name"), fmt.Sprintf("missing %d", i)),
			chromedp.SendKeys(chromedp.CSS("#pin-origins"), origin),
			chromedp.Click(chromedp.CSS(`#pin-form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#pin-done")))
	}
	uiWait(t, ctx, "both queued", `document.querySelectorAll('#queue-table tbody tr').length === 2`)
	uiScreenshot(t, ctx, "pins-queue-1280")
	uiDo(t, ctx, "cancel one", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#queue-table tr[data-cid="%s"] button.danger`, missing[0]))),
		chromedp.WaitVisible(chromedp.CSS("#confirm")), chromedp.Click(chromedp.CSS("#confirm-ok")))
	uiWait(t, ctx, "the cancelled one gone", fmt.Sprintf(`!document.querySelector('#queue-table tr[data-cid="%s"]')`, missing[0]))
	var cancelled struct{ Status string }
	apiOK(t, s.url, s.admin, "GET", "/pins/"+missing[0], nil, &cancelled)
	if cancelled.Status != "unpinned" {
		t.Errorf("the cancelled request is %q, want unpinned (no record left)", cancelled.Status)
	}
	// The other fails after the fetch timeout; the queue (polling) shows it
	// with its reason.
	uiDo(t, ctx, "wait for the failure", chromedp.Poll[chromedp.Void](
		fmt.Sprintf(`(document.querySelector('#queue-table tr[data-cid="%s"]') || {}).dataset?.status === 'failed'`, missing[1]),
		chromedp.WithPollingTimeout(30*time.Second)))
	reason := uiEval[string](t, ctx, fmt.Sprintf(`document.querySelector('#queue-table tr[data-cid="%s"] td.reason').textContent`, missing[1]))
	var failed struct{ Reason string }
	apiOK(t, s.url, s.admin, "GET", "/pins/"+missing[1], nil, &failed)
	if failed.Reason == "" || reason != failed.Reason {
		t.Errorf("the queue shows the reason %q, the API %q", reason, failed.Reason)
	}
	uiScreenshot(t, ctx, "pins-failed-1280")
	uiAtWidth(t, ctx, 375)
	uiTablesFit(t, ctx, "the queue at 375 px", false)
	uiScreenshot(t, ctx, "pins-375")
}

func TestUIGroupsAreCreatedRenamedFilledFromAFilesPageAndDeleted(t *testing.T) {
	s := uiStartServer(t)
	photo := uploadBytes(t, s.url, s.admin, "beach.png", pngBytes(t, 64, 48))
	notes := uploadBytes(t, s.url, s.admin, "notes-about-a-rather-long-trip-to-the-seaside.txt", []byte("grouped notes\n"))
	ctx := uiBrowser(t)
	uiSignIn(t, ctx, s)

	// Create one group in the view; another exists already (made by an app).
	var other struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	apiOK(t, s.url, s.admin, "POST", "/v3/groups/public", map[string]any{"name": "avatars"}, &other)
	uiOpen(t, ctx, "#groups", "#group-form")
	uiDo(t, ctx, "create a group", chromedp.SendKeys(chromedp.CSS("#group-name"), "Holiday photos"),
		chromedp.Click(chromedp.CSS(`#group-form button[type="submit"]`)))
	uiWait(t, ctx, "two groups listed", `document.querySelectorAll('#groups-table tbody tr').length === 2`)
	id := uiEval[string](t, ctx, `document.querySelector('#groups-table tr[data-name="Holiday photos"]').dataset.id`)
	if id == "" {
		t.Fatal("the new group is not listed")
	}

	// Rename the other one in place.
	row := fmt.Sprintf(`#groups-table tr[data-id="%s"]`, other.Data.ID)
	uiDo(t, ctx, "rename", chromedp.Click(chromedp.CSS(row+" .rename")), chromedp.WaitVisible(chromedp.CSS(row+" .rename-input")))
	uiEval[bool](t, ctx, fmt.Sprintf(`(() => { const i = document.querySelector('%s .rename-input'); i.value = 'Profile pictures'; return true; })()`, row))
	uiDo(t, ctx, "save the name", chromedp.Click(chromedp.CSS(row+` .rename-form button[type="submit"]`)))
	uiWait(t, ctx, "the new name", fmt.Sprintf(`(document.querySelector('%s .group-link') || {}).textContent === 'Profile pictures'`, row))
	var got struct {
		Data struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	apiOK(t, s.url, s.admin, "GET", "/v3/groups/public/"+other.Data.ID, nil, &got)
	if got.Data.Name != "Profile pictures" {
		t.Errorf("the server has the group as %q after the rename", got.Data.Name)
	}

	// Add both files to the holiday group from their pages.
	for _, up := range []uploaded{photo, notes} {
		uiOpen(t, ctx, "#file/"+up.ID, "#file-detail")
		uiWait(t, ctx, "the group choice", fmt.Sprintf(`!!document.querySelector('#file-group-pick option[value="%s"]')`, id))
		uiEval[bool](t, ctx, fmt.Sprintf(`(document.querySelector('#file-group-pick').value = %q, true)`, id))
		uiDo(t, ctx, "add to the group", chromedp.Click(chromedp.CSS(`#file-group-form button[type="submit"]`)))
		uiWait(t, ctx, "the file's groups", fmt.Sprintf(`!!document.querySelector('#file-groups li[data-group="%s"]')`, id))
	}
	uiScreenshot(t, ctx, "file-groups-1280")
	uiAtWidth(t, ctx, 375)
	uiNoHorizontalOverflow(t, ctx, "a file's groups at 375 px")
	uiScreenshot(t, ctx, "file-groups-375")
	uiAtWidth(t, ctx, 1280)
	var files struct {
		Data struct {
			Files []struct {
				ID string `json:"id"`
			} `json:"files"`
		} `json:"data"`
	}
	apiOK(t, s.url, s.admin, "GET", "/v3/files/public?group="+id, nil, &files)
	if len(files.Data.Files) != 2 {
		t.Errorf("the server lists %d files in the group, want 2", len(files.Data.Files))
	}

	// The group's page lists them; at every width its table fits.
	uiOpen(t, ctx, "#group/"+id, "#group-files")
	uiWait(t, ctx, "two files in the group", `document.querySelectorAll('#group-files tbody tr').length === 2`)
	if h := uiEval[string](t, ctx, `document.querySelector('#group-h').textContent`); h != "Holiday photos" {
		t.Errorf("the group's heading %q", h)
	}
	for _, w := range []int{1280, 768, 375} {
		uiAtWidth(t, ctx, w)
		uiTablesFit(t, ctx, fmt.Sprintf("a group's files at %d px", w), w >= 1000)
		if w != 768 {
			uiScreenshot(t, ctx, fmt.Sprintf("group-files-%d", w))
		}
	}
	uiOpen(t, ctx, "#groups", "#groups-table")
	uiWait(t, ctx, "two groups", `document.querySelectorAll('#groups-table tbody tr').length === 2`)
	for _, w := range []int{375, 768, 1280} {
		uiAtWidth(t, ctx, w)
		uiTablesFit(t, ctx, fmt.Sprintf("groups at %d px", w), w >= 1000)
		if w != 768 {
			uiScreenshot(t, ctx, fmt.Sprintf("groups-%d", w))
		}
	}

	// Remove one file from the group on the group's page (asked first).
	uiOpen(t, ctx, "#group/"+id, "#group-files")
	uiWait(t, ctx, "two files in the group", `document.querySelectorAll('#group-files tbody tr').length === 2`)
	uiDo(t, ctx, "remove the notes", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#group-files tr[data-id="%s"] .remove`, notes.ID))),
		chromedp.WaitVisible(chromedp.CSS("#confirm")), chromedp.Click(chromedp.CSS("#confirm-ok")))
	uiWait(t, ctx, "one file left in the group", `document.querySelectorAll('#group-files tbody tr').length === 1`)

	// Delete the group after confirming: its files stay pinned.
	uiOpen(t, ctx, "#groups", "#groups-table")
	uiWait(t, ctx, "two groups", `document.querySelectorAll('#groups-table tbody tr').length === 2`)
	del := fmt.Sprintf(`#groups-table tr[data-id="%s"] .delete`, id)
	uiDo(t, ctx, "ask to delete", chromedp.Click(chromedp.CSS(del)), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	uiDo(t, ctx, "cancel", chromedp.Click(chromedp.CSS("#confirm-cancel")))
	if code := apiCall(t, s.url, s.admin, "GET", "/v3/groups/public/"+id, nil, nil); code != 200 {
		t.Fatalf("the group answers %d after a cancelled delete", code)
	}
	uiDo(t, ctx, "delete", chromedp.Click(chromedp.CSS(del)), chromedp.WaitVisible(chromedp.CSS("#confirm")), chromedp.Click(chromedp.CSS("#confirm-ok")))
	uiWait(t, ctx, "one group left", `document.querySelectorAll('#groups-table tbody tr').length === 1`)
	if code := apiCall(t, s.url, s.admin, "GET", "/v3/groups/public/"+id, nil, nil); code != 404 {
		t.Errorf("the deleted group answers %d, want 404", code)
	}
	if n, _ := listUploads(t, s.url, s.admin, ""); n != 2 {
		t.Errorf("%d files after deleting the group, want both still pinned", n)
	}
}
