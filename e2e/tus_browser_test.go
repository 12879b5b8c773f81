//go:build e2e

package e2e

// Resumable uploads from a browser: tus-js-client and Uppy's tus plugin,
// installed from the npm registry at exact versions (e2e/package.json; .ci/run
// runs npm ci), served to the page by the test's own static handler (Uppy
// bundled with esbuild from node_modules), uploading 100 MiB with an upload
// token through a proxy that cuts the connection part-way. The upload must
// resume and end with Kubo's CID.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	tusE2ESize = 100 << 20
	tusE2ESeed = 100
	// tusE2ECID is Kubo v0.43.0's CID of the file (ipfs add --only-hash
	// --cid-version=1 --raw-leaves --chunker=size-1048576 --max-file-links=1024).
	tusE2ECID = "bafybeieey5crvrvzpi54kafl3ffiok6suyefek53sd2wtvae2mf3sh3jdu"
	// tusE2ECut is how many bytes from the browser pass the proxy before it
	// cuts the connection they came on.
	tusE2ECut = 40 << 20
)

// cutProxy forwards TCP connections to target and, once the clients have
// sent more than after bytes in all, closes the connection carrying them:
// the network dropping mid-upload, once.
type cutProxy struct {
	ln     net.Listener
	target string
	after  int64
	sent   atomic.Int64
	cuts   atomic.Int32
	wg     sync.WaitGroup
}

func startCutProxy(t *testing.T, target string, after int64) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, after: after}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(c net.Conn) {
	defer p.wg.Done()
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	done := make(chan struct{})
	go func() { // server to client
		io.Copy(c, s)
		c.Close()
		close(done)
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if p.sent.Add(int64(n)) > p.after && p.cuts.CompareAndSwap(0, 1) {
				break // cut: neither side gets the rest
			}
			if _, werr := s.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	c.Close()
	s.Close()
	<-done
}

// tusClients builds what the page loads: tus-js-client's browser build as
// it ships, and Uppy (core and tus) bundled by esbuild into one script.
func tusClients(t *testing.T) (tusJS, uppyJS []byte) {
	t.Helper()
	tusJS, err := os.ReadFile("node_modules/tus-js-client/dist/tus.min.js")
	if err != nil {
		t.Fatalf("tus-js-client is not installed (cd e2e && npm ci): %v", err)
	}
	out := filepath.Join(t.TempDir(), "uppy.js")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node_modules/.bin/esbuild", "--bundle", "--format=iife", "--log-level=warning",
		"--outfile="+out)
	cmd.Stdin = strings.NewReader(`import Uppy from '@uppy/core'; import Tus from '@uppy/tus'; window.Uppy = Uppy; window.UppyTus = Tus;`)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("esbuild Uppy (cd e2e && npm ci): %v\n%s", err, b)
	}
	uppyJS, err = os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return tusJS, uppyJS
}

// tusPage is the page both clients upload from. Each start function
// uploads the file input's file and leaves its outcome in window.result.
const tusPage = `<!doctype html><meta charset="utf-8"><title>tus e2e</title>
<input type="file" id="f">
<script src="/tus.min.js"></script>
<script src="/uppy.js"></script>
<script>
window.result = null;
const retryDelays = [0, 250, 500, 1000, 2000, 3000];
window.startTus = (endpoint, token) => {
  const file = document.getElementById('f').files[0];
  const up = new tus.Upload(file, {
    endpoint, retryDelays, headers: {Authorization: 'Signed ' + token},
    metadata: {filename: file.name, filetype: file.type || 'application/octet-stream'},
    onError: (err) => { window.result = {error: String(err)}; },
    onSuccess: (p) => { window.result = {cid: p.lastResponse.getHeader('Upload-CID'), url: up.url}; },
  });
  up.start();
};
window.startUppy = (endpoint, token) => {
  const file = document.getElementById('f').files[0];
  const uppy = new Uppy({autoProceed: false});
  uppy.use(UppyTus, {endpoint, retryDelays, headers: {Authorization: 'Signed ' + token}});
  uppy.on('upload-success', (f, resp) => {
    window.result = {cid: resp.body.xhr.getResponseHeader('Upload-CID'), url: resp.uploadURL};
  });
  uppy.on('upload-error', (f, err) => { window.result = {error: String(err)}; });
  uppy.addFile({name: file.name, type: file.type || 'application/octet-stream', data: file});
  uppy.upload();
};
</script>`

func tusStaticServer(t *testing.T) string {
	t.Helper()
	tusJS, uppyJS := tusClients(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, tusPage)
	})
	for name, js := range map[string][]byte{"/tus.min.js": tusJS, "/uppy.js": uppyJS} {
		mux.HandleFunc("GET "+name, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(js)
		})
	}
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return hs.URL
}

func tusE2EFile(t *testing.T) (string, []byte) {
	t.Helper()
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], tusE2ESeed)
	data := make([]byte, tusE2ESize)
	rand.NewChaCha8(key).Read(data)
	return uiTempFile(t, "video.bin", data), data
}

// tusToken mints an upload token with one use.
func tusToken(t *testing.T, n *ninja) (token, id string) {
	t.Helper()
	req, _ := http.NewRequest("POST", n.url+"/upload-tokens", strings.NewReader(`{"expiresIn":"1h","maxUploads":1}`))
	req.Header.Set("X-Api-Key", n.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 201 {
		t.Fatalf("token: %d %v", resp.StatusCode, m)
	}
	return m["token"].(string), m["tokenId"].(string)
}

// tusResult waits (bounded) for the page's outcome.
func tusResult(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		js := `window.result ? JSON.stringify(window.result) : ''`
		if s := uiEval[string](t, ctx, js); s != "" {
			var m map[string]string
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				t.Fatalf("result %s: %v", s, err)
			}
			return m
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatal("no upload outcome after 4 minutes")
	return nil
}

func TestBrowserTusClientsResumeACutUploadToKubosCID(t *testing.T) {
	path, data := tusE2EFile(t)
	page := tusStaticServer(t)
	for _, client := range []string{"tus-js-client", "uppy"} {
		t.Run(client, func(t *testing.T) {
			n := startNinja(t)
			tok, tokID := tusToken(t, n)
			proxy := startCutProxy(t, strings.TrimPrefix(n.url, "http://"), tusE2ECut)
			ctx := uiBrowser(t)
			start := map[string]string{"tus-js-client": "startTus", "uppy": "startUppy"}[client]
			uiDo(t, ctx, "open the page",
				chromedp.Navigate(page+"/"),
				chromedp.SetUploadFiles(chromedp.CSS("#f"), []string{path}))
			uiEval[bool](t, ctx, fmt.Sprintf(`window.%s(%q, %q), true`, start, proxy.url()+"/tus/", tok))
			res := tusResult(t, ctx)
			if res["error"] != "" {
				t.Fatalf("%s failed: %s", client, res["error"])
			}
			if proxy.cuts.Load() != 1 {
				t.Fatalf("the proxy cut %d connections, want 1 (the upload was never interrupted)", proxy.cuts.Load())
			}
			// Resumed from the offset: what was lost in flight is sent again,
			// not the 40 MiB before the cut.
			if sent := proxy.sent.Load(); sent > tusE2ESize+tusE2ECut/2 {
				t.Errorf("%d bytes went through the proxy for a %d-byte file: the upload started over instead of resuming", sent, tusE2ESize)
			}
			if res["cid"] != tusE2ECID {
				t.Fatalf("%s: Upload-CID %q, want Kubo's %s", client, res["cid"], tusE2ECID)
			}
			if !strings.HasPrefix(res["url"], proxy.url()+"/tus/tus_") {
				t.Errorf("upload URL %q is not under the endpoint the client used", res["url"])
			}
			if got := uiGateway(t, n.url, tusE2ECID); !bytes.Equal(got, data) {
				t.Fatalf("the gateway returned %d bytes that differ from the %d uploaded", len(got), len(data))
			}
			rec, err := n.app.Store.Token("", tokID)
			if err != nil || rec.UseCount != 1 {
				t.Fatalf("token use count %d (%v) after one resumed upload, want 1", rec.UseCount, err)
			}
			t.Logf("%s: %d bytes through the proxy for a %d-byte file, cut once, CID %s", client, proxy.sent.Load(), len(data), res["cid"])
		})
	}
}
