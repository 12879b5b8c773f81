//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/token"
)

// ninjaPost sends v as JSON with key and decodes the answer into out.
func ninjaPost(t *testing.T, n *ninja, path, key string, v, out any) {
	t.Helper()
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest("POST", n.url+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

func ninjaUpload(t *testing.T, n *ninja, data []byte) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "f.txt")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", n.url+"/upload", &body)
	req.Header.Set("Authorization", "Bearer "+n.admin)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var up struct{ CID string }
	json.NewDecoder(resp.Body).Decode(&up)
	if resp.StatusCode != http.StatusOK || up.CID == "" {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	return up.CID
}

// TestKuboResolvesANinjaNameThroughItsDelegatedRouting: a name created
// and published in ninja is resolved by Kubo v0.43.0 whose only router
// is ninja's /routing/v1 endpoint (Routing.Type delegated, no DHT): Kubo
// fetches the record, checks its signature itself and resolves the
// value; a new version is seen after the next publish.
func TestKuboResolvesANinjaNameThroughItsDelegatedRouting(t *testing.T) {
	n := startNinja(t)
	k := startKubo(t,
		[]string{"Routing.Type", "delegated"},
		[]string{"--json", "Routing.DelegatedRouters", `["` + n.url + `"]`},
		[]string{"--json", "Ipns.DelegatedPublishers", `["` + n.url + `"]`},
		[]string{"--json", "AutoConf.Enabled", "false"},
		[]string{"--json", "Provide.Enabled", "false"},
	)
	c1 := ninjaUpload(t, n, []byte("version one"))
	var created struct{ IPNSName string }
	ninjaPost(t, n, "/names", n.admin, map[string]any{"name": "site"}, &created)
	ninjaPost(t, n, "/names/site", n.admin, map[string]any{"value": c1}, nil)

	got := k.run("name", "resolve", "--nocache", "/ipns/"+created.IPNSName)
	if got != "/ipfs/"+c1 {
		t.Fatalf("kubo resolved %q, want /ipfs/%s", got, c1)
	}
	c2 := ninjaUpload(t, n, []byte("version two"))
	ninjaPost(t, n, "/names/site", n.admin, map[string]any{"value": "/ipfs/" + c2 + "/"}, nil)
	got = k.run("name", "resolve", "--nocache", "/ipns/"+created.IPNSName)
	if !strings.HasPrefix(got, "/ipfs/"+c2) {
		t.Fatalf("after the second publish kubo resolved %q, want /ipfs/%s", got, c2)
	}
	// Kubo reads the record in the trustless format too, and its
	// inspector agrees it is validly signed for the name.
	req, _ := http.NewRequest("GET", n.url+"/ipns/"+created.IPNSName+"?format=ipns-record", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rec bytes.Buffer
	rec.ReadFrom(resp.Body)
	cmd := k.command("name", "inspect", "--verify", created.IPNSName)
	cmd.Stdin = &rec
	out, err := cmd.CombinedOutput()
	// "Signature Type: V1+V2": both signatures, as boxo's ipns.NewRecord
	// makes them, so that older readers still resolve the name.
	if err != nil || !strings.Contains(string(out), "Valid: true") || !strings.Contains(string(out), c2) ||
		!strings.Contains(string(out), "V1+V2") {
		t.Fatalf("ipfs name inspect --verify: %v\n%s", err, out)
	}
}

// TestAnOnlineNinjaPutsItsRecordsToTheDHT: ninja online (its DHT on, a
// Kubo DHT server as its only bootstrap peer) puts a published record to
// the DHT, where Kubo, which has no other way to learn it, resolves it.
func TestAnOnlineNinjaPutsItsRecordsToTheDHT(t *testing.T) {
	k := startKubo(t, []string{"Routing.Type", "dhtserver"}, []string{"--json", "AutoConf.Enabled", "false"})
	var id struct {
		ID        string
		Addresses []string
	}
	if err := json.Unmarshal([]byte(k.run("id")), &id); err != nil || len(id.Addresses) == 0 {
		t.Fatalf("ipfs id: %v %v", id, err)
	}
	a, err := app.Open(context.Background(), app.Options{
		DataDir: t.TempDir(), Create: true, Network: true,
		Node:   node.Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Bootstrap: id.Addresses[:1], AllowPrivatePeers: true},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.Server.Handler())
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	ctx := context.Background()
	acct, _ := a.Service.CreateAccount(ctx, "default")
	admin, _, err := a.Service.CreateAPIKey(ctx, acct.ID, "admin", []token.Scope{token.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	n := &ninja{url: hs.URL, admin: admin, app: a, node: a.Node}
	c := ninjaUpload(t, n, []byte("on the DHT"))
	var created struct{ IPNSName string }
	ninjaPost(t, n, "/names", admin, map[string]any{"name": "dht"}, &created)
	ninjaPost(t, n, "/names/dht", admin, map[string]any{"value": c}, nil)

	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := k.try("name", "resolve", "--nocache", "--dht-timeout", "5s", "/ipns/"+created.IPNSName)
		if err == nil && got == "/ipfs/"+c {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubo did not resolve the name from the DHT within 60s: %v %s", err, got)
		}
		time.Sleep(time.Second)
	}
}
