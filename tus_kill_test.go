package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chacha is the fixture bytes of testdata/node/cids.json: ChaCha8 keyed by
// the seed.
func chacha(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], seed)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

func tusDo(t *testing.T, method, url, tok string, headers map[string]string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Tus-Resumable", "1.0.0")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// A kill -9 in the middle of a tus PATCH loses nothing the server had
// received: after the restart HEAD says how far it got, the upload resumes
// from there to Kubo's CID, and the token's use stayed reserved throughout.
func TestATusUploadCutByKillNineResumesAfterTheRestartToTheSameCID(t *testing.T) {
	const size, cut = 10 << 20, 6 << 20
	const want = "bafybeiboqvsthcvefv7czfcwrerdrq5c3krlnpzi43nwt5czjrxwj2a6bq" // Kubo's CID of seed 7, 10 MiB
	data := chacha(7, size)
	dir := t.TempDir()
	p := startServe(t, dir)

	// An upload token with one use.
	req, _ := http.NewRequest("POST", p.url+"/upload-tokens", strings.NewReader(`{"expiresIn":"1h","maxUploads":1}`))
	req.Header.Set("X-Api-Key", p.adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tk struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&tk)
	resp.Body.Close()
	if resp.StatusCode != 201 || tk.Token == "" {
		t.Fatalf("token: %d", resp.StatusCode)
	}

	created := tusDo(t, "POST", p.url+"/tus/", tk.Token, map[string]string{"Upload-Length": strconv.Itoa(size)}, nil)
	loc := created.Header.Get("Location")
	if created.StatusCode != 201 || loc == "" {
		t.Fatalf("create: %d", created.StatusCode)
	}
	id := loc[strings.LastIndex(loc, "/")+1:]

	// The PATCH sends cut bytes, then stalls with the request open.
	pr, pw := io.Pipe()
	go func() {
		pw.Write(data[:cut])
		// Blocks until the pipe is closed after the kill.
	}()
	go func() {
		req, _ := http.NewRequest("PATCH", loc, pr)
		req.Header.Set("Authorization", "Bearer "+tk.Token)
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		req.Header.Set("Upload-Offset", "0")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	file := filepath.Join(dir, "tus", id)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(file); err == nil && fi.Size() == cut {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not write the %d bytes sent within 30 s", cut)
		}
	}
	p.stop(t, syscall.SIGKILL)
	pw.CloseWithError(io.ErrClosedPipe)

	q := startServe(t, dir)
	head := tusDo(t, "HEAD", q.url+"/tus/"+id, tk.Token, nil, nil)
	if head.StatusCode != 200 || head.Header.Get("Upload-Offset") != strconv.Itoa(cut) {
		t.Fatalf("HEAD after kill -9: %d, offset %q, want %d", head.StatusCode, head.Header.Get("Upload-Offset"), cut)
	}
	// The one use is still the tus upload's: a plain upload is refused.
	body, ct := multipartFile("x.txt", []byte("x"))
	plain := tusDo(t, "POST", q.url+"/upload", tk.Token, map[string]string{"Content-Type": ct}, body)
	if plain.StatusCode != 403 {
		t.Fatalf("a second upload with the token's only use held: %d, want 403", plain.StatusCode)
	}
	last := tusDo(t, "PATCH", q.url+"/tus/"+id, tk.Token, map[string]string{"Content-Type": "application/offset+octet-stream",
		"Upload-Offset": strconv.Itoa(cut)}, bytes.NewReader(data[cut:]))
	if last.StatusCode != 204 || last.Header.Get("Upload-CID") != want {
		t.Fatalf("the resumed PATCH: %d, Upload-CID %q, want %s", last.StatusCode, last.Header.Get("Upload-CID"), want)
	}
	if code, got := getBody(t, q.url+"/ipfs/"+want, ""); code != 200 || !bytes.Equal(got, data) {
		t.Fatalf("gateway: %d, %d bytes, want the %d uploaded", code, len(got), size)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the partial file is still there after the pin: %v", err)
	}
	q.stop(t, syscall.SIGTERM)
}
