package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ninjaBin is the binary under test, built once by TestMain.
var ninjaBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ninja-bin")
	if err != nil {
		panic(err)
	}
	ninjaBin = filepath.Join(dir, "ninja")
	// -buildvcs=auto: stamp the commit when built in a checkout, whatever
	// GOFLAGS the machine sets, so `ninja version` can be checked.
	build := exec.Command("go", "build", "-buildvcs=auto", "-o", ninjaBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running `ninja serve`.
type proc struct {
	cmd      *exec.Cmd
	url      string
	adminKey string
	peerID   string
	out      *bytes.Buffer
}

var (
	reHTTP  = regexp.MustCompile(`HTTP API and gateway: (http://\S+)`)
	rePeer  = regexp.MustCompile(`peer id: (\S+)`)
	reAdmin = regexp.MustCompile(`(?m)^(bws_\S+)$`)
)

// startServe runs `ninja serve` on loopback and waits for "ready".
func startServe(t *testing.T, dataDir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--data", dataDir, "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--offline"}, extra...)
	cmd := exec.Command(ninjaBin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, out: &bytes.Buffer{}}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.out.WriteString(sc.Text() + "\n")
			if sc.Text() == "ready" {
				ready <- nil
				io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- fmt.Errorf("serve exited before ready: %s", stderr.String())
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve not ready after 30s: %s %s", p.out, stderr.String())
	}
	out := p.out.String()
	p.url = reHTTP.FindStringSubmatch(out)[1]
	p.peerID = rePeer.FindStringSubmatch(out)[1]
	if m := reAdmin.FindStringSubmatch(out); m != nil {
		p.adminKey = m[1]
	}
	return p
}

func (p *proc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	p.cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if sig == syscall.SIGTERM && err != nil {
			t.Fatalf("serve exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit within 30s")
	}
}

// ninja runs a client command and returns its stdout.
func ninja(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ninjaBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%v: %s", err, errb.String())
	}
	return out.String(), err
}

func postFile(t *testing.T, url, key, name string, data []byte) map[string]any {
	t.Helper()
	body, ct := multipartFile(name, data)
	req, _ := http.NewRequest("POST", url+"/upload", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %d %v", resp.StatusCode, m)
	}
	return m
}

func getBody(t *testing.T, url, key string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestServeFirstStartAndKillNineLosesNothingAcknowledged(t *testing.T) {
	data := t.TempDir()
	p := startServe(t, data)
	if !strings.HasPrefix(p.adminKey, "bws_") {
		t.Fatalf("first start printed no admin key:\n%s", p.out)
	}
	for _, f := range []string{"ninja.db", "secret.key", "identity.key", "ninja.sock"} {
		fi, err := os.Stat(filepath.Join(data, f))
		if err != nil {
			t.Fatalf("data dir lacks %s: %v", f, err)
		}
		if f != "ninja.db" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	if code, _ := getBody(t, p.url+"/healthz", ""); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	payload := bytes.Repeat([]byte("acknowledged bytes survive kill -9\n"), 100000) // 3.5 MB: several blocks
	res := postFile(t, p.url, p.adminKey, "survivor.txt", payload)
	cid := res["cid"].(string)

	p.stop(t, syscall.SIGKILL)

	q := startServe(t, data)
	if q.adminKey != "" {
		t.Fatal("a restart printed an admin key again")
	}
	if q.peerID != p.peerID {
		t.Fatalf("peer id changed across restart: %s -> %s", p.peerID, q.peerID)
	}
	code, got := getBody(t, q.url+"/ipfs/"+cid, "")
	if code != 200 || !bytes.Equal(got, payload) {
		t.Fatalf("after kill -9 the gateway gave %d and %d bytes, want %d", code, len(got), len(payload))
	}
	_, st := getBody(t, q.url+"/pins/"+cid, p.adminKey)
	var status map[string]any
	json.Unmarshal(st, &status)
	if status["pinned"] != true {
		t.Fatalf("pin record lost after kill -9: %s", st)
	}
	q.stop(t, syscall.SIGTERM)
	if _, err := os.Stat(filepath.Join(data, "ninja.sock")); !os.IsNotExist(err) {
		t.Error("the admin socket is left behind after a clean shutdown")
	}
}

func TestKeyCommandsWorkWithAndWithoutARunningServer(t *testing.T) {
	data := t.TempDir()
	// Client commands never create a data directory (that would mint, and
	// lose, the one-time admin key): they need `ninja serve` to have run.
	if _, err := ninja(t, "key", "list", "--data", filepath.Join(data, "typo")); err == nil || !strings.Contains(err.Error(), "no ninja database") {
		t.Fatalf("key list on a missing data directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "typo")); !os.IsNotExist(err) {
		t.Fatal("a client command created a data directory")
	}
	first := startServe(t, data)
	first.stop(t, syscall.SIGTERM)

	// No server running: the CLI opens the database itself.
	out, err := ninja(t, "key", "create", "--data", data, "--name", "offline-key", "--scopes", "upload,pins:read")
	if err != nil {
		t.Fatal(err)
	}
	offlineKey := strings.TrimSpace(out)
	if !strings.HasPrefix(offlineKey, "bws_") {
		t.Fatalf("key create printed %q", out)
	}

	p := startServe(t, data)
	if p.adminKey != "" {
		t.Fatal("serve printed an admin key again on its second start")
	}
	postFile(t, p.url, offlineKey, "a.txt", []byte("made with a key created offline"))

	// With the server running, the CLI goes through the admin socket.
	out, err = ninja(t, "key", "create", "--data", data, "--name", "online-key", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var k map[string]any
	if err := json.Unmarshal([]byte(out), &k); err != nil {
		t.Fatalf("--json output: %v: %s", err, out)
	}
	postFile(t, p.url, k["key"].(string), "b.txt", []byte("made with a key created online"))

	list, err := ninja(t, "key", "list", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, "offline-key") || !strings.Contains(list, "online-key") || strings.Contains(list, offlineKey) {
		t.Fatalf("key list:\n%s", list)
	}
	if _, err := ninja(t, "key", "revoke", "--data", data, k["id"].(string)); err != nil {
		t.Fatal(err)
	}
	code, body := getBody(t, p.url+"/upload/list", k["key"].(string))
	if code != 401 || !strings.Contains(string(body), "UNAUTHORIZED") {
		t.Fatalf("revoked key: %d %s", code, body)
	}

	// A second server on the same data directory fails fast instead of hanging.
	start := time.Now()
	_, err = ninja(t, "serve", "--data", data, "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--offline")
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("second serve: err=%v after %v", err, time.Since(start))
	}

	if _, err := ninja(t, "account", "create", "--data", data, "tenant2"); err != nil {
		t.Fatal(err)
	}
	out, err = ninja(t, "key", "create", "--data", data, "--account", "tenant2", "--name", "t2")
	if err != nil {
		t.Fatal(err)
	}
	t2 := strings.TrimSpace(out)
	code, body = getBody(t, p.url+"/upload/list", t2)
	if code != 200 || !strings.Contains(string(body), `"count":0`) {
		t.Fatalf("a new account sees uploads: %d %s", code, body)
	}
	p.stop(t, syscall.SIGTERM)

	// Stopped again: revoke through the database directly.
	if _, err := ninja(t, "key", "revoke", "--data", data, "nope"); err == nil || !strings.Contains(err.Error(), "NOT_FOUND") {
		t.Fatalf("revoking an unknown key: %v", err)
	}
}

// TestSIGTERMFailsUploadsStillRunningAfterTheDrainWithoutRecordingThem: a
// SIGTERM drains for --shutdown-timeout; an upload that has not finished
// by then fails and leaves no pin record.
func TestSIGTERMFailsUploadsStillRunningAfterTheDrainWithoutRecordingThem(t *testing.T) {
	data := t.TempDir()
	p := startServe(t, data, "--shutdown-timeout", "1s")
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", p.url+"/upload", pr)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=XX")
	req.Header.Set("X-Api-Key", p.adminKey)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	pw.Write([]byte("--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"half.bin\"\r\n\r\n"))
	pw.Write(bytes.Repeat([]byte{1}, 3<<20))
	p.stop(t, syscall.SIGTERM)
	pw.CloseWithError(io.ErrClosedPipe)
	<-done

	q := startServe(t, data)
	_, body := getBody(t, q.url+"/upload/list", p.adminKey)
	if !strings.Contains(string(body), `"count":0`) {
		t.Fatalf("an interrupted upload was recorded: %s", body)
	}
}

func multipartFile(name string, data []byte) (io.Reader, string) {
	var buf bytes.Buffer
	buf.WriteString("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name + "\"\r\nContent-Type: application/octet-stream\r\n\r\n")
	buf.Write(data)
	buf.WriteString("\r\n--B--\r\n")
	return &buf, "multipart/form-data; boundary=B"
}

func TestTokenCommandsAndUploadCommand(t *testing.T) {
	data := t.TempDir()
	p := startServe(t, data)
	out, err := ninja(t, "token", "create", "--data", data, "--name", "web", "--expires-in", "1h", "--max-uploads", "2",
		"--max-size", "1MB", "--mime", "text/*", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	if err := json.Unmarshal([]byte(out), &tok); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	secret := tok["token"].(string)

	file := filepath.Join(t.TempDir(), "hello.txt")
	os.WriteFile(file, []byte("hello from the CLI\n"), 0o644)
	out, err = ninja(t, "upload", file, "--server", p.url, "--token", secret)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(out)
	if len(fields) != 2 || !strings.HasPrefix(fields[0], "bafkrei") {
		t.Fatalf("upload printed %q", out)
	}
	if code, body := getBody(t, p.url+"/ipfs/"+fields[0], ""); code != 200 || string(body) != "hello from the CLI\n" {
		t.Fatalf("gateway: %d %q", code, body)
	}
	// A directory is one upload with the directory's CID.
	dir := filepath.Join(t.TempDir(), "site")
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "b.txt"), []byte("b"), 0o644)
	out, err = ninja(t, "upload", dir, "--server", p.url, "--api-key", p.adminKey)
	if err != nil {
		t.Fatal(err)
	}
	dirCID := strings.Fields(out)[0]
	if code, body := getBody(t, p.url+"/ipfs/"+dirCID+"/sub/b.txt", ""); code != 200 || string(body) != "b" {
		t.Fatalf("directory upload: %d %q", code, body)
	}

	// Remote mode with an API key lists the same token and its use.
	out, err = ninja(t, "token", "list", "--server", p.url, "--api-key", p.adminKey)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, tok["tokenId"].(string)) || !strings.Contains(out, "1/2") || !strings.Contains(out, "active") {
		t.Fatalf("token list:\n%s", out)
	}
	if _, err := ninja(t, "token", "revoke", "--data", data, tok["tokenId"].(string)); err != nil {
		t.Fatal(err)
	}
	_, err = ninja(t, "upload", file, "--server", p.url, "--token", secret)
	if err == nil || !strings.Contains(err.Error(), "TOKEN_REVOKED") {
		t.Fatalf("upload with a revoked token: %v", err)
	}
	p.stop(t, syscall.SIGTERM)
	// With the server stopped, the database answers directly.
	out, err = ninja(t, "token", "list", "--data", data, "--json")
	if err != nil || !strings.Contains(out, `"status": "revoked"`) {
		t.Fatalf("offline token list: %v\n%s", err, out)
	}
}

func TestSigningKeyAndAccessJWTCommands(t *testing.T) {
	data := t.TempDir()
	startServe(t, data).stop(t, syscall.SIGTERM)
	out, err := ninja(t, "signing-key", "create", "--data", data, "--name", "backend")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(out)
	if len(f) != 2 || !strings.HasPrefix(f[0], "usk_") || !strings.HasPrefix(f[1], "uss_") {
		t.Fatalf("signing-key create printed %q", out)
	}
	list, err := ninja(t, "signing-key", "list", "--data", data)
	if err != nil || !strings.Contains(list, f[0]) || strings.Contains(list, f[1]) || !strings.Contains(list, "active") {
		t.Fatalf("signing-key list: %v\n%s", err, list)
	}
	if _, err := ninja(t, "signing-key", "revoke", "--data", data, f[0]); err != nil {
		t.Fatal(err)
	}
	if list, _ = ninja(t, "signing-key", "list", "--data", data); !strings.Contains(list, "revoked") {
		t.Fatalf("after revoke:\n%s", list)
	}
	out, err = ninja(t, "key", "create", "--data", data, "--jwt", "--name", "svc", "--scopes", "pins:read", "--expires-in", "2h", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	json.Unmarshal([]byte(out), &j)
	if tok, _ := j["token"].(string); strings.Count(tok, ".") != 2 || !strings.HasPrefix(tok, "eyJ") {
		t.Fatalf("key create --jwt: %s", out)
	}
	p := startServe(t, data)
	req, _ := http.NewRequest("GET", p.url+"/upload/list", nil)
	req.Header.Set("Authorization", "Bearer "+j["token"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("access JWT from the CLI: %d", resp.StatusCode)
	}
}

func TestVersionReportsTheCommitFromTheBuildInfo(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skip("not a git checkout: the binary carries no commit to compare")
	}
	out, err := ninja(t, "version", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Version, Commit, Go, Boxo, Libp2p string }
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if v.Commit != strings.TrimSpace(string(head)) || !strings.HasPrefix(v.Go, "go1.") || v.Boxo != "v0.43.0" || v.Libp2p != "v0.49.0" {
		t.Fatalf("ninja version --json = %+v, want commit %s", v, head)
	}
}
