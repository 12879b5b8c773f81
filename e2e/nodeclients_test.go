//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/app"
)

// jsResult is what the scripts in e2e/js print.
type jsResult struct {
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// runNode runs a script of e2e/js with Node trusting ca, and decodes what
// it prints. The scripts' packages are those of e2e/js/package-lock.json,
// installed by `npm ci` (.ci/run does it).
func runNode(t *testing.T, ca *testCA, script string, args ...string) jsResult {
	t.Helper()
	if _, err := os.Stat("js/node_modules"); err != nil {
		t.Skip("e2e/js/node_modules is missing: run `npm ci --ignore-scripts` in e2e/js (.ci/run does)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH")
	}
	cmd := exec.Command(node, append([]string{"--import", "./js/node20.mjs", filepath.Join("js", script)}, args...)...)
	// NODE_EXTRA_CA_CERTS is how a self-hoster's Node app trusts a private
	// CA; everything else about the clients stays default.
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+ca.pemPath)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s%s", script, err, out, stderr.String())
	}
	var r jsResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("node %s printed %q: %v\n%s", script, out, err, stderr.String())
	}
	return r
}

// TestNodeClientsReadAnUploadThroughTheHTTPSGateway: with a certificate
// from files (a private CA's, as a self-hoster without a public name would
// have), the pinata SDK's gateways.public.get (which forces https:// on its
// gateway) and @helia/verified-fetch with default options (which refuses
// http:// gateways) read an upload back byte-identical.
func TestNodeClientsReadAnUploadThroughTheHTTPSGateway(t *testing.T) {
	ca := newTestCA(t)
	certPath, keyPath := ca.leaf(t)
	n := startTLSNinja(t, listenNinja(t, "127.0.0.1:0", "127.0.0.1:0"),
		app.TLSOptions{CertFile: certPath, KeyFile: keyPath}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// "localhost", not 127.0.0.1: verified-fetch's default refuses gateways
	// at private addresses, but not names.
	hc, base := n.client("localhost", ca.pool())
	data := randomBytes(t, 3<<20+12345) // several 1 MiB blocks: a DAG verified-fetch walks
	res := upload(t, hc, base, n.key, data)
	if !strings.HasPrefix(res.URIs.URL, base+"/ipfs/") {
		t.Errorf("uris.url %q does not use https", res.URIs.URL)
	}
	sum := sha256.Sum256(data)
	want := jsResult{Bytes: len(data), SHA256: hex.EncodeToString(sum[:])}
	host := strings.TrimPrefix(base, "https://")

	tests := []struct {
		name, script, gateway string
	}{
		{"the pinata SDK's gateways.public.get", "pinata-get.mjs", host},
		{"@helia/verified-fetch with default options", "verified-fetch.mjs", base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got := runNode(t, ca, tt.script, tt.gateway, res.CID)
			if got != want {
				t.Fatalf("read %d bytes with sha256 %s, want %d bytes with %s", got.Bytes, got.SHA256, want.Bytes, want.SHA256)
			}
			t.Logf("%s read %d bytes in %v", tt.script, got.Bytes, time.Since(start))
		})
	}
}
