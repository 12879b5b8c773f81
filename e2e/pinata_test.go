//go:build e2e

// This file runs the real clients apps use today against ninja: npm
// pinata (Pinata's v3 SDK), @pinata/sdk (its legacy SDK, through
// HTTPS_PROXY) and ImageKit's client upload signed with jsonwebtoken. The
// Node.js scripts in js/ drive the clients and assert what the answers
// and the listings say; this side gives them their inputs and keys, and
// checks every CID against Kubo's for the same bytes and profile, the
// bytes through ninja's gateway, and the records in ninja's store. Needs
// node, `npm ci --prefix e2e/js` (.ci/run does both) and KUBO_BIN.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
)

// clientInputs are the files the clients upload, by their path under the
// inputs directory: a DAG of four blocks and a root, a JSON document
// (compact, so JSON.stringify gives these bytes back), small texts, a
// folder and a JPEG-looking file.
func clientInputs() map[string][]byte {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], 42)
	big := make([]byte, 3<<20+17)
	rng := mrand.NewChaCha8(seed)
	rng.Read(big)
	// Over the 90 MiB at which the pinata SDK switches to tus.
	huge := make([]byte, 91<<20+5)
	rng.Read(huge)
	return map[string][]byte{
		"big.bin":      big,
		"huge.bin":     huge,
		"doc.json":     []byte(`{"hello":"pinata","n":1,"list":[1,2,3],"nested":{"ok":true}}`),
		"small.txt":    []byte("small text, sent as base64\n"),
		"signed.txt":   []byte("uploaded with a signed URL and nothing else\n"),
		"folder/a.txt": []byte("file a of the folder\n"),
		"folder/b.txt": []byte("file b of the folder\n"),
		"dress.jpg":    append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF"), bytes.Repeat([]byte("dress"), 300)...),
	}
}

func writeInputs(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	in := clientInputs()
	for name, b := range in {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, in
}

// kuboCIDs adds every input (and the folder, as `ipfs add -r`) to a
// scratch Kubo repository with --only-hash and ninja's default profile.
func kuboCIDs(t *testing.T, dir string) map[string]string {
	t.Helper()
	bin := os.Getenv("KUBO_BIN")
	if bin == "" {
		t.Skip("KUBO_BIN is not set (make kubo builds Kubo v0.43.0)")
	}
	repo := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "IPFS_PATH="+repo)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ipfs %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "--profile", "test")
	profile := []string{"add", "--only-hash", "-Q", "--cid-version=1", "--raw-leaves", "--chunker=size-1048576", "--max-file-links=1024"}
	out := map[string]string{}
	for name := range clientInputs() {
		if !strings.Contains(name, "/") {
			out[name] = run(append(profile, filepath.Join(dir, name))...)
		}
	}
	out["folder"] = run(append(profile, "-r", filepath.Join(dir, "folder"))...)
	return out
}

// lostCID is a CID whose bytes exist nowhere: its pin requests wait.
func lostCID(t *testing.T) string {
	b := make([]byte, 32)
	rand.Read(b)
	mh, err := multihash.Sum(b, multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.Raw, mh).String()
}

// clientResult is what a script prints last.
type clientResult struct {
	CIDs         map[string]string `json:"cids"`
	SignedFileID string            `json:"signedFileId"`
	DeletedCID   string            `json:"deletedCID"`
	UnpinnedCID  string            `json:"unpinnedCID"`
}

// runClient runs a script of js/ with node, the environment given, and
// returns its result.
func runClient(t *testing.T, script string, env ...string) clientResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (.ci/run installs the clients with npm ci)")
	}
	if _, err := os.Stat(filepath.Join("js", "node_modules", "pinata", "package.json")); err != nil {
		t.Fatalf("the clients are not installed: run `npm ci --prefix e2e/js` (.ci/run does): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = "js"
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstdout:\n%s\nstderr:\n%s", script, err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res clientResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("node %s printed %q: %v", script, stdout.String(), err)
	}
	return res
}

// checkCIDs compares the clients' CIDs with Kubo's and reads each back
// through ninja's gateway.
func checkCIDs(t *testing.T, n *ninja, got map[string]string, want map[string]string, in map[string][]byte) {
	t.Helper()
	if len(got) == 0 {
		t.Fatal("the client reported no CID")
	}
	for name, c := range got {
		if c != want[name] {
			t.Errorf("%s: ninja's CID %s, Kubo's %s", name, c, want[name])
		}
		paths := map[string][]byte{c: in[name]}
		if name == "folder" {
			paths = map[string][]byte{c + "/a.txt": in["folder/a.txt"], c + "/b.txt": in["folder/b.txt"]}
		}
		for p, data := range paths {
			if back := gatewayGet(t, n.url+"/ipfs/"+p); !bytes.Equal(back, data) {
				t.Errorf("%s: the gateway serves %d bytes, not the %d uploaded", p, len(back), len(data))
			}
		}
	}
}

func gatewayGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// fullKey is an API key with every scope but admin (the SDKs sign URLs
// and make keys with it) and its record's id.
func fullKey(t *testing.T, n *ninja) (secret, id string) {
	t.Helper()
	secret, k, err := n.app.Service.CreateAPIKey(context.Background(), n.acct, "pinata", pinning.DefaultKeyScopes())
	if err != nil {
		t.Fatal(err)
	}
	return secret, k.ID
}

func TestPinataV3SDKRunsUnchanged(t *testing.T) {
	n := startNinja(t)
	dir, in := writeInputs(t)
	want := kuboCIDs(t, dir)
	key, _ := fullKey(t, n)
	res := runClient(t, "pinata_v3.mjs", "NINJA_URL="+n.url, "NINJA_KEY="+key, "INPUTS="+dir, "LOST_CID="+lostCID(t))
	checkCIDs(t, n, res.CIDs, want, in)

	// The records, as the store has them.
	st := n.app.Store
	signed, err := st.Pin(n.acct, res.SignedFileID)
	if err != nil || signed.Name != "signed.txt" || signed.Metadata["via"] != "signed url" || signed.CID != want["signed.txt"] {
		t.Fatalf("the signed upload's record: %+v %v", signed, err)
	}
	tokens, _, _ := st.ListTokens(n.acct, store.Page{})
	if len(tokens) != 2 || tokens[1].UseCount != 1 || tokens[1].ID != signed.CredentialID || tokens[1].MaxFileBytes != 1024 ||
		tokens[1].BoundName != "signed.txt" {
		t.Fatalf("the signed URLs' upload tokens: %+v", tokens)
	}
	if pins, _ := st.PinsByCID(n.acct, res.DeletedCID); len(pins) != 0 {
		t.Fatalf("the deleted file is still pinned: %+v", pins)
	}
	big, _ := st.PinsByCID(n.acct, want["big.bin"])
	if len(big) != 1 || big[0].Name != "renamed" || big[0].Metadata["stage"] != "updated" || big[0].Metadata["env"] != "e2e" {
		t.Fatalf("the updated file: %+v", big)
	}
	if _, q, _ := st.ListPins(n.acct, store.PinFilter{Status: []string{store.StatusQueued, store.StatusPinning}}); q != 0 {
		t.Fatalf("%d pin requests left; the client cancelled its only one", q)
	}
	huge, _ := st.PinsByCID(n.acct, want["huge.bin"])
	if len(huge) != 1 || huge[0].Name != "huge.bin" || huge[0].Metadata["via"] != "tus" || huge[0].Size != int64(len(in["huge.bin"])) {
		t.Fatalf("the file the SDK sent over tus: %+v", huge)
	}
	jwts, _, _ := st.ListAccessJWTs(n.acct, store.Page{})
	if len(jwts) != 1 || jwts[0].Name != "e2e reader" || jwts[0].RevokedAt.IsZero() || jwts[0].MaxUses != 2 {
		t.Fatalf("the key made through the SDK: %+v", jwts)
	}
}

func TestPinataLegacySDKRunsUnchangedThroughAProxy(t *testing.T) {
	n := startNinja(t)
	dir, in := writeInputs(t)
	want := kuboCIDs(t, dir)
	key, id := fullKey(t, n)
	res := runClient(t, "pinata_legacy.mjs", "NINJA_URL="+n.url, "NINJA_KEY="+key, "NINJA_KEY_ID="+id, "INPUTS="+dir,
		"LOST_CID="+lostCID(t), "HTTPS_PROXY="+n.url, "https_proxy="+n.url, "NO_PROXY=", "no_proxy=")
	checkCIDs(t, n, res.CIDs, want, in)

	st := n.app.Store
	pins, _ := st.PinsByCID(n.acct, want["big.bin"])
	if len(pins) != 2 || pins[0].Name != "legacy renamed" || pins[0].Metadata["src"] != "legacy" || pins[0].Metadata["stage"] != "updated" {
		t.Fatalf("the file's pins after hashMetadata: %+v", pins)
	}
	if gone, _ := st.PinsByCID(n.acct, res.UnpinnedCID); len(gone) != 0 {
		t.Fatalf("unpinned, yet %d pins remain", len(gone))
	}
	if _, q, _ := st.ListPins(n.acct, store.PinFilter{Status: []string{store.StatusQueued, store.StatusPinning}}); q != 1 {
		t.Fatalf("%d pin requests waiting, want the one pinned by hash", q)
	}
}

func TestImageKitClientUploadRunsAsItsDocsShow(t *testing.T) {
	n := startNinja(t)
	dir, in := writeInputs(t)
	want := kuboCIDs(t, dir)
	// The operator's upload-signing key for the account, as `ninja
	// signing-key create` makes it.
	parent, err := n.app.Service.Issuer(context.Background(), pinning.Operator(), n.acct, "", false)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := n.app.Service.CreateSigningKey(context.Background(), parent, "backend")
	if err != nil {
		t.Fatal(err)
	}
	res := runClient(t, "imagekit.mjs", "NINJA_URL="+n.url, "NINJA_KID="+sk.ID, "NINJA_SIGNING_SECRET="+sk.Secret, "INPUTS="+dir)
	checkCIDs(t, n, res.CIDs, want, in)
	pins, _ := n.app.Store.PinsByCID(n.acct, want["dress.jpg"])
	if len(pins) != 1 || pins[0].Name != "dress.jpg" || pins[0].Metadata["tags"] != "summer,dress" ||
		pins[0].Metadata["imagekit:useUniqueFileName"] != "false" {
		t.Fatalf("the upload's record: %+v (one pin: the replay and the mismatch recorded nothing)", pins)
	}
}
