package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

func TestMetricsCountRequestsUploadsAndRefusalsWithoutSecrets(t *testing.T) {
	e := newEnv(t)
	scraper := e.mintKey(e.acct.ID, token.ScopeMetrics)
	tok := e.newToken(map[string]any{"maxUploads": 1})["token"].(string)
	if r := e.tokenUpload(tok, "a.txt", []byte("counted"), nil); r.status != 200 {
		t.Fatal(r.status)
	}
	if r := e.tokenUpload(tok, "b.txt", []byte("refused"), nil); r.status != 403 {
		t.Fatalf("an exhausted token: %d", r.status)
	}
	if r := e.get("/metrics", e.key); r.status != 403 {
		t.Fatalf("/metrics with a key without scope metrics: %d, want 403", r.status)
	}
	r := e.get("/metrics", scraper)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", r.status, r.header.Get("Content-Type"))
	}
	body := string(r.body)
	for _, want := range []string{
		`ninja_uploads_total{credential="upload_token",outcome="ok"} 1`,
		`ninja_uploads_total{credential="upload_token",outcome="refused"} 1`,
		`ninja_upload_bytes_total{credential="upload_token"} 7`,
		`ninja_refusals_total{reason="TOKEN_EXHAUSTED"} 1`,
		`ninja_http_requests_total{code="200",route="POST /upload"} 1`,
		`ninja_credential_checks_total{credential="upload_token",result="ok"}`,
		`ninja_pin_queue{state="queued"} 0`,
		`ninja_pins{status="pinned"} 1`,
		`ninja_blockstore_bytes `,
		`ninja_bitswap_bytes_sent_total 0`,
		`ninja_http_request_duration_seconds_bucket{route="POST /upload",le=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, secret := range []string{tok, e.key, e.admin, scraper, "sup_", "bws_"} {
		if strings.Contains(body, secret) {
			t.Fatalf("/metrics exposes a credential (%.8s…)", secret)
		}
	}
}

func TestTheAccessLogHasOneLinePerRequestAndNoSecret(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, func(o *app.Options) {
		o.Server.AccessLog = true
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	tok := e.newToken(map[string]any{})
	if r := e.tokenUpload(tok["token"].(string), "a.txt", []byte("logged"), nil); r.status != 200 {
		t.Fatal(r.status)
	}
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["route"] == "POST /upload" {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no access-log line for the upload:\n%s", logs.String())
	}
	if line["status"] != float64(200) || line["credential"] != "upload_token" || line["prefix"] != tok["tokenPrefix"] ||
		line["client"] != "127.0.0.1" || line["bytes"].(float64) <= 0 || line["method"] != "POST" {
		t.Errorf("access-log line %v", line)
	}
	for _, secret := range []string{tok["token"].(string), e.key, e.admin} {
		if strings.Contains(logs.String(), secret) {
			t.Fatal("the log holds a credential")
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAnonymousGatewayReadsAreCountedInAggregate: a thousand reads of one
// file are counted exactly in the owner's analytics, but stored as sums,
// not one record each.
func TestAnonymousGatewayReadsAreCountedInAggregate(t *testing.T) {
	e := newEnv(t)
	data := []byte("read a thousand times")
	c := e.uploadCID(e.key, data)
	for range 1000 {
		if r := e.get("/ipfs/"+c, ""); r.status != 200 {
			t.Fatal(r.status)
		}
	}
	e.flushEvents()
	day := time.Now().UTC().Format("2006-01-02")
	tot := e.get("/analytics?from="+day+"&to="+day, e.key).json(t)["totals"].(map[string]any)
	if tot["gatewayRequests"] != float64(1000) || tot["gatewayBytes"] != float64(1000*len(data)) {
		t.Fatalf("analytics after 1000 reads: %v", tot)
	}
	records := 0
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	e.store.Events("", from, to, func(ev store.Event) error {
		if ev.AccountID == "" {
			records++
		}
		return nil
	})
	if records > 5 {
		t.Fatalf("%d stored records for 1000 anonymous reads of one CID, want a few sums", records)
	}
}
