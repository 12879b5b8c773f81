//go:build e2e

// Package e2e runs ninja against real clients. This file needs a Kubo
// v0.43.0 binary in KUBO_BIN (`make kubo` builds one; see DEVELOPERS.md).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubo is a Kubo daemon on loopback with no bootstrap peers, no MDNS and
// no content routing: it only talks to peers it is told about.
type kubo struct {
	t    *testing.T
	bin  string
	repo string
}

// startKubo starts the daemon after the test profile and config, each
// `ipfs config` arguments run before the start (a test's own routing).
func startKubo(t *testing.T, config ...[]string) *kubo {
	t.Helper()
	bin := os.Getenv("KUBO_BIN")
	if bin == "" {
		t.Skip("KUBO_BIN is not set (make kubo builds Kubo v0.43.0)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("KUBO_BIN: %v", err)
	}
	k := &kubo{t: t, bin: bin, repo: t.TempDir()}
	// The test profile: loopback addresses on port 0, no bootstrap, no MDNS.
	k.run("init", "--profile", "test")
	k.run("config", "Routing.Type", "none")
	k.run("config", "--json", "Bootstrap", "[]")
	k.run("config", "--json", "Discovery.MDNS.Enabled", "false")
	k.run("config", "--json", "Addresses.Swarm", `["/ip4/127.0.0.1/tcp/0"]`)
	for _, args := range config {
		k.run(append([]string{"config"}, args...)...)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "daemon")
	cmd.Env = k.env()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cancel()
			<-done
		}
		cancel()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			if !found && strings.Contains(sc.Text(), "Daemon is ready") {
				found = true
				ready <- true
			}
		}
		if !found {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("kubo daemon exited: %s", stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("kubo daemon not ready after 60s: %s", stderr.String())
	}
	return k
}

func (k *kubo) env() []string {
	return append(os.Environ(), "IPFS_PATH="+k.repo, "IPFS_TELEMETRY=off")
}

// run runs an ipfs command and returns its trimmed stdout.
func (k *kubo) run(args ...string) string {
	k.t.Helper()
	out, err := k.try(args...)
	if err != nil {
		k.t.Fatalf("ipfs %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// command is an ipfs command to run as the test likes (its own stdin).
func (k *kubo) command(args ...string) *exec.Cmd {
	cmd := exec.Command(k.bin, args...)
	cmd.Env = k.env()
	return cmd
}

func (k *kubo) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Env = k.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return strings.TrimSpace(stdout.String()), nil
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestKuboPinsRemotelyOnNinja is Kubo's `ipfs pin remote` against ninja's
// Pinning Service API: ninja fetches the content from Kubo over bitswap
// (Kubo passes its own addresses as origins) and serves it.
func TestKuboPinsRemotelyOnNinja(t *testing.T) {
	n := startNinja(t)
	k := startKubo(t)

	k.run("pin", "remote", "service", "add", "ninja", n.url+"/psa", n.key)

	data := randomBytes(t, 3<<20+123) // several chunks: a real DAG
	file := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c := k.run("add", "-Q", "--cid-version=1", file)

	k.run("pin", "remote", "add", "--service=ninja", "--background=false", "--name=e2e-file", c)

	resp, err := http.Get(n.url + "/ipfs/" + c)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("ninja's gateway served %d, %d bytes; want the %d bytes Kubo added", resp.StatusCode, len(got), len(data))
	}

	ls := k.run("pin", "remote", "ls", "--service=ninja", "--status=pinned")
	if !strings.Contains(ls, c) || !strings.Contains(ls, "e2e-file") {
		t.Fatalf("pin remote ls does not list %s: %q", c, ls)
	}
	k.run("pin", "remote", "rm", "--service=ninja", "--cid="+c)
	if ls := k.run("pin", "remote", "ls", "--service=ninja", "--status=queued,pinning,pinned,failed"); strings.Contains(ls, c) {
		t.Fatalf("pin remote ls still lists %s after rm: %q", c, ls)
	}
}

// TestKuboFetchesFromNinja: content uploaded to ninja is fetched by Kubo
// over bitswap, byte-identical.
func TestKuboFetchesFromNinja(t *testing.T) {
	n := startNinja(t)
	k := startKubo(t)

	data := randomBytes(t, 2<<20+77)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "blob.bin")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", n.url+"/upload", &body)
	req.Header.Set("Authorization", "Bearer "+n.key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct{ CID string }
	json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || up.CID == "" {
		t.Fatalf("upload: %d", resp.StatusCode)
	}

	k.run("swarm", "connect", n.node.Addrs()[0])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.bin, "cat", up.CID)
	cmd.Env = k.env()
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("ipfs cat: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("ipfs cat returned %d bytes, not the %d uploaded", len(got), len(data))
	}
}
