package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The golden database is a data directory's ninja.db as written by the
// schema-3 code (commit 6ea697b on main, before the index redesign). It is
// committed under testdata/ with a manifest of what it holds, so the
// migration test can check every record after migrating a copy.
//
// Regenerate only on purpose, from a checkout of that commit:
//
//	NINJA_WRITE_GOLDEN=1 go test -run TestWriteGoldenV3Database ./store/
const (
	goldenDB       = "testdata/v3.db"
	goldenManifest = "testdata/v3.json"
)

// golden is the manifest: every record the generator wrote, as the schema-3
// API returned it.
type golden struct {
	Commit      string       `json:"commit"`
	Now         time.Time    `json:"now"`
	Accounts    []Account    `json:"accounts"`
	Keys        []APIKey     `json:"keys"`
	Tokens      []Token      `json:"tokens"`
	SigningKeys []SigningKey `json:"signingKeys"`
	AccessJWTs  []AccessJWT  `json:"accessJwts"`
	JTIs        []goldenJTI  `json:"jtis"`
	Pins        []Pin        `json:"pins"`
	Deleted     []string     `json:"deletedPins"`
	Events      []Event      `json:"events"`
}

type goldenJTI struct {
	Issuer, JTI string
	Expires     time.Time
}

// goldenClock is a settable clock for the generator.
type goldenClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *goldenClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *goldenClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestWriteGoldenV3Database(t *testing.T) {
	if os.Getenv("NINJA_WRITE_GOLDEN") == "" {
		t.Skip("set NINJA_WRITE_GOLDEN=1 to regenerate testdata/v3.db (from commit 6ea697b)")
	}
	clk := &goldenClock{t: time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "ninja.db")
	s, err := Open(path, Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	g := &golden{Commit: "6ea697b"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	acme, err := s.CreateAccount("acme")
	must(err)
	beta, err := s.CreateAccount("beta")
	must(err)
	admin, err := s.CreateAPIKey(APIKey{AccountID: acme.ID, Name: "admin", Prefix: "bws_adm00001", Hash: []byte("golden-key-admin"), Scopes: []string{"admin"}})
	must(err)
	clk.advance(time.Minute)
	app, err := s.CreateAPIKey(APIKey{AccountID: acme.ID, Name: "app", Prefix: "bws_app00002", Hash: []byte("golden-key-app"), Scopes: []string{"upload", "pins:read", "pins:write", "tokens:write"}})
	must(err)
	old, err := s.CreateAPIKey(APIKey{AccountID: acme.ID, Name: "old", Prefix: "bws_old00003", Hash: []byte("golden-key-old"), Scopes: []string{"upload"}})
	must(err)
	_, err = s.RevokeAPIKey("", old.ID)
	must(err)
	betaKey, err := s.CreateAPIKey(APIKey{AccountID: beta.ID, Name: "beta", Prefix: "bws_bet00004", Hash: []byte("golden-key-beta"), Scopes: []string{"upload", "pins:read"}})
	must(err)

	clk.advance(time.Minute)
	gallery, err := s.CreateToken(Token{AccountID: acme.ID, KeyID: app.ID, Name: "Gallery", Prefix: "sup_gal00001", Hash: []byte("golden-tok-gallery"),
		Scopes: []string{"upload"}, ExpiresAt: clk.now().Add(72 * time.Hour), MaxUploads: 10, MaxFileBytes: 5 << 20,
		AllowedMimeTypes: []string{"image/*"}, IPAllow: []string{"10.0.0.0/8"}, AllowedOrigins: []string{"https://app.example"},
		BoundName: "gallery", BoundMetadata: map[string]string{"album": "summer"}})
	must(err)
	short, err := s.CreateToken(Token{AccountID: acme.ID, KeyID: app.ID, Name: "short", Prefix: "sup_sho00002", Hash: []byte("golden-tok-short"),
		Scopes: []string{"upload"}, ExpiresAt: clk.now().Add(time.Hour), MaxTotalBytes: 1 << 20})
	must(err)
	revoked, err := s.CreateToken(Token{AccountID: acme.ID, KeyID: app.ID, Name: "revoked", Prefix: "sup_rev00003", Hash: []byte("golden-tok-revoked"),
		Scopes: []string{"upload"}, ExpiresAt: clk.now().Add(24 * time.Hour)})
	must(err)
	_, err = s.RevokeToken(acme.ID, revoked.ID)
	must(err)
	forever, err := s.CreateToken(Token{AccountID: beta.ID, KeyID: betaKey.ID, Name: "forever", Prefix: "sup_for00004", Hash: []byte("golden-tok-forever"), Scopes: []string{"upload"}})
	must(err)

	clk.advance(time.Minute)
	sk, err := s.CreateSigningKey(SigningKey{ID: "usk_golden0001", AccountID: acme.ID, KeyID: app.ID, Name: "backend", Secret: "uss_goldensecret1"})
	must(err)
	sk2, err := s.CreateSigningKey(SigningKey{ID: "usk_golden0002", AccountID: acme.ID, KeyID: app.ID, Name: "retired", Secret: "uss_goldensecret2"})
	must(err)
	_, err = s.RevokeSigningKey("", sk2.ID)
	must(err)
	jwt1, err := s.CreateAccessJWT(AccessJWT{JTI: "ajt_golden0001", AccountID: acme.ID, KeyID: app.ID, Name: "ci", Scopes: []string{"pins:read"},
		ExpiresAt: clk.now().Add(30 * 24 * time.Hour), MaxUses: 5})
	must(err)
	for range 2 {
		ok, err := s.UseAccessJWT(jwt1.JTI)
		must(err)
		if !ok {
			t.Fatal("access jwt use refused")
		}
	}
	jwt2, err := s.CreateAccessJWT(AccessJWT{JTI: "ajt_golden0002", AccountID: beta.ID, KeyID: betaKey.ID, Name: "revoked", Scopes: []string{"upload"},
		ExpiresAt: clk.now().Add(time.Hour)})
	must(err)
	_, err = s.RevokeAccessJWT("", jwt2.JTI)
	must(err)
	for i, exp := range []time.Duration{-3 * time.Hour, time.Hour, 2 * time.Hour} {
		j := goldenJTI{Issuer: sk.ID, JTI: fmt.Sprintf("jti-%d", i), Expires: clk.now().Add(exp)}
		fresh, err := s.ConsumeJTI(j.Issuer, j.JTI, j.Expires)
		must(err)
		if !fresh {
			t.Fatal("jti not fresh")
		}
		g.JTIs = append(g.JTIs, j)
	}
	// A jti consumed before jtis were scoped by issuer: a bare key.
	bare := goldenJTI{JTI: "jti-unscoped", Expires: clk.now().Add(90 * time.Minute)}
	must(s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJTIs).Put([]byte(bare.JTI), u64(uint64(bare.Expires.UnixNano())))
	}))
	g.JTIs = append(g.JTIs, bare)

	writeGoldenPins(t, s, clk, g, acme, beta, app, betaKey, gallery, short, forever)

	// Tokens failures: counted from batched events.
	s.RecordFailure(gallery.ID, "SIZE_EXCEEDED")
	s.RecordFailure(gallery.ID, "SIZE_EXCEEDED")
	s.RecordFailure(gallery.ID, "MIME_NOT_ALLOWED")
	s.RecordFailure(short.ID, "TOKEN_EXPIRED")
	s.FlushEvents()

	g.Now = clk.now()
	g.Accounts, err = s.Accounts()
	must(err)
	g.Keys, err = s.APIKeys("")
	must(err)
	g.Tokens, err = s.Tokens("")
	must(err)
	g.SigningKeys, err = s.SigningKeys("")
	must(err)
	g.AccessJWTs, err = s.AccessJWTs("")
	must(err)
	must(s.Events("", time.Time{}, clk.now().Add(time.Hour), func(e Event) error { g.Events = append(g.Events, e); return nil }))
	_ = admin
	must(s.Close(t.Context()))

	raw, err := json.MarshalIndent(g, "", "  ")
	must(err)
	must(os.WriteFile(goldenManifest, append(raw, '\n'), 0o644))
	db, err := os.ReadFile(path)
	must(err)
	must(os.WriteFile(goldenDB, db, 0o644))
}

// writeGoldenPins writes pins of every status over three days, with the
// uses and events an upload produces, and records them in g.
func writeGoldenPins(t *testing.T, s *Store, clk *goldenClock, g *golden, acme, beta Account, app, betaKey APIKey, gallery, short, forever Token) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	upload := func(acct Account, key APIKey, tok *Token, p Pin) Pin {
		t.Helper()
		p.AccountID, p.KeyID = acct.ID, key.ID
		p.CredentialID, p.Prefix = key.ID, key.Prefix
		var use *TokenUse
		if tok != nil {
			p.CredentialID, p.Prefix = tok.ID, tok.Prefix
			ok, err := s.Reserve(tok.ID)
			must(err)
			if !ok {
				t.Fatalf("reserve %s refused", tok.ID)
			}
			use = &TokenUse{TokenID: tok.ID, Bytes: p.Size}
		}
		out, err := s.AddPins([]Pin{p}, use)
		must(err)
		s.RecordEvent(Event{AccountID: acct.ID, KeyID: key.ID, TokenID: p.CredentialID, Prefix: p.Prefix, Endpoint: "POST /upload",
			Status: 200, Bytes: p.Size, MimeType: p.MimeType, CID: p.CID})
		clk.advance(7 * time.Minute)
		return out[0]
	}
	var pins []Pin
	for day := range 3 {
		for i := range 4 {
			n := day*4 + i
			p := Pin{CID: fmt.Sprintf("bafkgolden%02d", n), Name: fmt.Sprintf("photo-%02d.png", n), MimeType: "image/png",
				Size: int64(1000 + n), DagSize: int64(1100 + n), Metadata: map[string]string{"album": "summer", "n": fmt.Sprint(n)}}
			var tok *Token
			switch i {
			case 0:
				tok = &gallery
			case 1:
				tok = &short
				p.MimeType, p.Name, p.Description = "text/plain", fmt.Sprintf("notes-%02d.txt", n), "meeting notes"
			}
			pins = append(pins, upload(acme, app, tok, p))
		}
		// Failed uploads and other requests are events only.
		s.RecordEvent(Event{AccountID: acme.ID, KeyID: app.ID, TokenID: gallery.ID, Prefix: gallery.Prefix, Endpoint: "POST /upload", Status: 413, Reason: "SIZE_EXCEEDED"})
		s.RecordEvent(Event{AccountID: acme.ID, KeyID: app.ID, Prefix: app.Prefix, Endpoint: "GET /psa/pins", Status: 200})
		s.RecordEvent(Event{AccountID: acme.ID, KeyID: app.ID, Prefix: app.Prefix, Endpoint: "POST /upload/new", Status: 200, Bytes: 42, MimeType: "application/json", CID: "bafkgoldenjson"})
		// Anonymous gateway reads of acme's and beta's content.
		s.RecordEvent(Event{Endpoint: "GET /ipfs/", Status: 200, GatewayBytes: 500, CID: pins[len(pins)-1].CID})
		s.RecordEvent(Event{Endpoint: "GET /ipfs/", Status: 200, GatewayBytes: 250, CID: pins[len(pins)-1].CID})
		s.RecordEvent(Event{Endpoint: "GET /ipfs/", Status: 200, GatewayBytes: 9, CID: "bafkgoldenshared"})
		s.FlushEvents()
		clk.advance(24*time.Hour - 28*time.Minute)
	}
	// The same CID pinned twice in one account and once in another.
	dup := upload(acme, app, nil, Pin{CID: pins[0].CID, Name: "copy of photo-00.png", MimeType: "image/png", Size: pins[0].Size})
	shared1 := upload(acme, app, nil, Pin{CID: "bafkgoldenshared", Name: "shared.bin", Size: 9, Origins: []string{"/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWGolden"}})
	shared2 := upload(beta, betaKey, &forever, Pin{CID: "bafkgoldenshared", Name: "shared.bin", Size: 9})
	pins = append(pins, dup, shared1, shared2)

	// Pin-by-CID requests in every state.
	queue := func(acct Account, key APIKey, cid, name string, meta map[string]string) Pin {
		p, err := s.AddQueuedPin(Pin{AccountID: acct.ID, KeyID: key.ID, CredentialID: key.ID, Prefix: key.Prefix, CID: cid, Name: name,
			Metadata: meta, Origins: []string{"/dns4/peer.example/tcp/4001/p2p/12D3KooWOrigin"}})
		must(err)
		clk.advance(time.Minute)
		return p
	}
	queued := queue(acme, app, "bafyqueued", "waiting", map[string]string{"source": "psa"})
	pinning := queue(acme, app, "bafypinning", "fetching", nil)
	pinned := queue(beta, betaKey, "bafyfetched", "fetched", map[string]string{"source": "psa"})
	failed := queue(acme, app, "bafyfailed", "unreachable", nil)
	var err error
	pinning, err = s.UpdateQueuedPin(pinning.ID, func(p *Pin) error { p.Status = StatusPinning; return nil })
	must(err)
	pinned, err = s.UpdateQueuedPin(pinned.ID, func(p *Pin) error { p.Status, p.Size, p.DagSize = StatusPinned, 4096, 4200; return nil })
	must(err)
	failed, err = s.UpdateQueuedPin(failed.ID, func(p *Pin) error { p.Status, p.Reason = StatusFailed, "timeout"; return nil })
	must(err)
	pins = append(pins, queued, pinning, pinned, failed)

	// A deleted pin (its CID stays live through its other pin), and a
	// queued pin deleted while queued, which leaves a stale queue entry.
	gone, err := s.DeletePin(acme.ID, pins[5].ID)
	must(err)
	staleQueued := queue(acme, app, "bafydeletedwhilequeued", "", nil)
	_, err = s.DeletePin(acme.ID, staleQueued.ID)
	must(err)
	g.Deleted = []string{gone.ID, staleQueued.ID}
	for _, p := range pins {
		if p.ID == gone.ID {
			continue
		}
		p, err := s.Pin("", p.ID)
		must(err)
		g.Pins = append(g.Pins, p)
	}
}
