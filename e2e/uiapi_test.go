//go:build e2e

package e2e

// Helpers for the dashboard tests: the HTTP API called directly, to set up
// what a view shows and to check what a click changed.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"
)

// apiCall sends a JSON request with a credential and decodes the answer
// into out (when not nil); it returns the status.
func apiCall(t *testing.T, base, cred, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cred)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// apiOK is apiCall that fails the test unless the answer is 2xx.
func apiOK(t *testing.T, base, cred, method, path string, body, out any) {
	t.Helper()
	if code := apiCall(t, base, cred, method, path, body, out); code < 200 || code > 299 {
		t.Fatalf("%s %s: status %d", method, path, code)
	}
}

// uploaded is an upload's answer and its record id.
type uploaded struct {
	CID      string `json:"cid"`
	Size     int64  `json:"size"`
	Name     string `json:"name"`
	MimeType string `json:"mimeType"`
	ID       string `json:"-"`
}

// listItem is one entry of GET /upload/list.
type listItem struct {
	ID          string            `json:"id"`
	CID         string            `json:"cid"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
	Size        int64             `json:"size"`
	DagSize     int64             `json:"dagSize"`
	Status      string            `json:"status"`
}

func listUploads(t *testing.T, base, cred, query string) (int, []listItem) {
	t.Helper()
	var out struct {
		Count   int        `json:"count"`
		Uploads []listItem `json:"uploads"`
	}
	apiOK(t, base, cred, "GET", "/upload/list?"+query, nil, &out)
	return out.Count, out.Uploads
}

// postFile sends one file as POST /upload and returns the status and body.
func postFile(t *testing.T, base, cred, name string, data []byte) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, name))
	h.Set("Content-Type", "application/octet-stream")
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	w.Close()
	req, err := http.NewRequest("POST", base+"/upload", &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cred)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// uploadBytes uploads one file with POST /upload and finds its record
// (cred must also read pins).
func uploadBytes(t *testing.T, base, cred, name string, data []byte) uploaded {
	t.Helper()
	code, b := postFile(t, base, cred, name, data)
	if code != http.StatusOK {
		t.Fatalf("upload %s: %d %s", name, code, b)
	}
	var u uploaded
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatal(err)
	}
	_, items := listUploads(t, base, cred, "cid="+u.CID)
	for _, it := range items {
		if it.Name == u.Name {
			u.ID = it.ID
			return u
		}
	}
	t.Fatalf("no record of %s (%s) listed", u.Name, u.CID)
	return u
}

// pngBytes is a w×h PNG with a colour gradient.
func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(255 * x / w), uint8(120 + 100*y/h), 200, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wavBytes is one second of a 440 Hz tone, 8 kHz mono 8-bit PCM.
func wavBytes() []byte {
	const rate = 8000
	data := make([]byte, rate)
	for i := range data {
		// a triangle wave: no floating point needed, still a tone
		p := (i * 440 * 2 * 128 / rate) % 512
		if p > 255 {
			p = 511 - p
		}
		data[i] = byte(p)
	}
	var b bytes.Buffer
	le := func(v uint32, n int) {
		for i := 0; i < n; i++ {
			b.WriteByte(byte(v >> (8 * i)))
		}
	}
	b.WriteString("RIFF")
	le(uint32(36+len(data)), 4)
	b.WriteString("WAVEfmt ")
	le(16, 4)
	le(1, 2)    // PCM
	le(1, 2)    // mono
	le(rate, 4) // sample rate
	le(rate, 4) // byte rate
	le(1, 2)    // block align
	le(8, 2)    // bits per sample
	b.WriteString("data")
	le(uint32(len(data)), 4)
	b.Write(data)
	return b.Bytes()
}

// pdfBytes is a one-page PDF saying text.
func pdfBytes(text string) []byte {
	stream := fmt.Sprintf("BT /F1 24 Tf 72 720 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// uploadJWT signs a client-minted upload JWT as an app's backend does.
func uploadJWT(t *testing.T, kid, secret string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now().Unix()
	head := enc(map[string]string{"alg": "HS256", "typ": "JWT", "kid": kid})
	body := enc(map[string]any{"iat": now, "exp": now + 600, "jti": fmt.Sprintf("e2e-%d", time.Now().UnixNano())})
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(head + "." + body))
	return head + "." + body + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// uiSignInWith signs in to the dashboard with cred and waits for the
// first view it may use.
func uiSignInWith(t *testing.T, ctx context.Context, s *uiServer, cred string) {
	t.Helper()
	uiDo(t, ctx, "sign in",
		chromedp.Navigate(s.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#signin-key")),
		chromedp.SendKeys(chromedp.CSS("#signin-key"), cred),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#tabs")),
	)
}

// uiOpen navigates the signed-in dashboard to a hash route.
func uiOpen(t *testing.T, ctx context.Context, hash, visible string) {
	t.Helper()
	uiEval[bool](t, ctx, fmt.Sprintf(`location.hash = %q, true`, hash))
	uiDo(t, ctx, "open "+hash, chromedp.WaitVisible(chromedp.CSS(visible)))
}

// uiAtWidth sets the viewport width (the height follows a phone's or a
// desktop's shape).
func uiAtWidth(t *testing.T, ctx context.Context, w int) {
	t.Helper()
	h := int64(900)
	if w < 500 {
		h = 812
	}
	uiDo(t, ctx, fmt.Sprintf("viewport %d", w), chromedp.EmulateViewport(int64(w), h))
}

// uiTablesFit checks, at the current width, that the page does not scroll
// sideways and, when wide is set, that no table needs its own scrollbar
// either (every column, Revoke buttons included, is on screen).
func uiTablesFit(t *testing.T, ctx context.Context, where string, wide bool) {
	t.Helper()
	uiNoHorizontalOverflow(t, ctx, where)
	if !wide {
		return
	}
	over := uiEval[[]string](t, ctx, `[...document.querySelectorAll('.table-wrap')].filter(w => w.offsetParent !== null &&
		w.scrollWidth > w.clientWidth + 1).map(w => w.querySelector('table').id + ': ' + w.scrollWidth + ' > ' + w.clientWidth)`)
	for _, o := range over {
		t.Errorf("%s: table %s px: it scrolls inside its box", where, o)
	}
}

// uiEvalAwait evaluates an expression that returns a promise and waits for
// its value.
func uiEvalAwait[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate: %v\n%s", err, js)
	}
	return v
}

// randomCID is the CID of random bytes: content no node has.
func randomCID(t *testing.T) string {
	t.Helper()
	h, err := multihash.Sum(uiRandom(t, 64), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.Raw, h).String()
}

// randomPeerID is the peer id of a fresh key: a peer nobody runs.
func randomPeerID(t *testing.T) string {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// uiGatewayHeader is one header of the gateway's answer for a CID.
func uiGatewayHeader(t *testing.T, base, c, name string) string {
	t.Helper()
	resp, err := http.Get(base + "/ipfs/" + c)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get(name)
}
