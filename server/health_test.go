package server_test

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/store"
)

func withMinFree(n int64) envOption { return func(o *app.Options) { o.MinFreeBytes = n } }

func TestReadyzIsOKOnAFreshServer(t *testing.T) {
	e := newEnv(t)
	if r := e.get("/readyz", ""); r.status != 200 || r.json(t)["status"] != "ready" {
		t.Fatalf("/readyz: %d %s", r.status, r.body)
	}
}

func TestADeletedDataDirectoryMakesReadyz503AndRefusesWrites(t *testing.T) {
	e := newEnv(t)
	if err := os.RemoveAll(e.dir); err != nil {
		t.Fatal(err)
	}
	r := e.get("/readyz", "")
	if r.status != 503 || r.reason(t) != "NOT_READY" {
		t.Fatalf("/readyz after rm -rf of the data directory: %d %s, want 503 NOT_READY", r.status, r.body)
	}
	details := r.json(t)["error"].(map[string]any)["details"].(string)
	for _, want := range []string{"database", "deleted", "node: block store not writable"} {
		if !strings.Contains(details, want) {
			t.Errorf("details %q do not say %q", details, want)
		}
	}
	if strings.Contains(details, e.dir) {
		t.Errorf("details %q name the data directory on a public endpoint", details)
	}
	// Writes are refused rather than acknowledged into a deleted database
	// (they would vanish on restart).
	if r := e.upload(e.key, "", nil, filePart{name: "a.txt", data: []byte("lost?")}); r.status != 503 || r.reason(t) != "NOT_READY" {
		t.Errorf("upload into a deleted database: %d %s, want 503 NOT_READY", r.status, r.body)
	}
	if r := e.postJSON("/pin", e.key, map[string]any{"cid": "bafkreiebkc43mwodb44b6ijmpawyzkgw4rrfwvva7nfy6wfqgcomt4eu6u"}); r.status != 503 {
		t.Errorf("pin request into a deleted database: %d %s, want 503", r.status, r.body)
	}
	// Liveness is not readiness: the process still answers.
	if r := e.get("/healthz", ""); r.status != 200 {
		t.Errorf("/healthz: %d, want 200 (liveness)", r.status)
	}
}

func TestReadyzNamesAStoppedPinWorker(t *testing.T) {
	e := newEnv(t)
	if err := e.svc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := e.get("/readyz", "")
	if r.status != 503 || !strings.Contains(string(r.body), "pin worker") {
		t.Fatalf("/readyz with the pin worker stopped: %d %s", r.status, r.body)
	}
}

func TestAFreeSpaceFloorAboveWhatIsFreeRefusesUploadsWith507AndRecordsNothing(t *testing.T) {
	e := newEnv(t, withMinFree(math.MaxInt64/2))
	tok := e.newToken(map[string]any{"expiresIn": "1h", "maxUploads": 1})
	tests := []struct {
		name string
		send func() response
	}{
		{"a multipart upload with an API key", func() response {
			return e.upload(e.key, "", nil, filePart{name: "a.txt", data: []byte("hello")})
		}},
		{"a JSON upload", func() response {
			return e.postJSON("/upload/new", e.key, map[string]any{"content": map[string]any{"a": 1}})
		}},
		{"an upload with a single-use token", func() response {
			return e.tokenUpload(tok["token"].(string), "b.txt", []byte("hello"), nil)
		}},
		{"a pin-by-CID request", func() response {
			return e.postJSON("/pin", e.key, map[string]any{"cid": "bafkreiebkc43mwodb44b6ijmpawyzkgw4rrfwvva7nfy6wfqgcomt4eu6u"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.send()
			if r.status != 507 || r.reason(t) != "INSUFFICIENT_STORAGE" {
				t.Fatalf("%d %s, want 507 INSUFFICIENT_STORAGE", r.status, r.body)
			}
			if d := r.json(t)["error"].(map[string]any)["details"].(string); !strings.Contains(d, "free") {
				t.Errorf("details %q do not say why", d)
			}
		})
	}
	if _, n, err := e.store.ListPins(e.acct.ID, store.PinFilter{}); err != nil || n != 0 {
		t.Errorf("%d pins recorded (%v), want none", n, err)
	}
	if got := e.tokenRecord(tok["tokenId"].(string)).UseCount; got != 0 {
		t.Errorf("the token's use count is %d after refused uploads, want 0", got)
	}
	// The server is still ready: the floor refuses writes, it is not a fault.
	if r := e.get("/readyz", ""); r.status != 200 {
		t.Errorf("/readyz under the floor: %d %s", r.status, r.body)
	}
}

func TestAFreeSpaceFloorUnderWhatIsFreeLetsUploadsThrough(t *testing.T) {
	e := newEnv(t, withMinFree(1))
	if r := e.upload(e.key, "", nil, filePart{name: "a.txt", data: []byte("hello")}); r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
}
