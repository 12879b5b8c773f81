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

// goldenWriter writes the golden database through the schema-3 API.
type goldenWriter struct {
	t          *testing.T
	s          *Store
	clk        *goldenClock
	g          *golden
	acme, beta Account
	app, betaK APIKey
	gallery    Token
	short      Token
	forever    Token
}

func (w *goldenWriter) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
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
	w := &goldenWriter{t: t, s: s, clk: clk, g: &golden{Commit: "6ea697b"}}
	w.keysAndTokens()
	w.jwtCredentials()
	w.pins()
	w.queue()
	// Token failures: counted from batched events.
	s.RecordFailure(w.gallery.ID, "SIZE_EXCEEDED")
	s.RecordFailure(w.gallery.ID, "SIZE_EXCEEDED")
	s.RecordFailure(w.gallery.ID, "MIME_NOT_ALLOWED")
	s.RecordFailure(w.short.ID, "TOKEN_EXPIRED")
	s.FlushEvents()
	w.manifest()
	w.must(s.Close(t.Context()))
	raw, err := json.MarshalIndent(w.g, "", "  ")
	w.must(err)
	w.must(os.WriteFile(goldenManifest, append(raw, '\n'), 0o644))
	db, err := os.ReadFile(path)
	w.must(err)
	w.must(os.WriteFile(goldenDB, db, 0o644))
}

func (w *goldenWriter) keysAndTokens() {
	s, clk := w.s, w.clk
	var err error
	w.acme, err = s.CreateAccount("acme")
	w.must(err)
	w.beta, err = s.CreateAccount("beta")
	w.must(err)
	_, err = s.CreateAPIKey(APIKey{AccountID: w.acme.ID, Name: "admin", Prefix: "bws_adm00001", Hash: []byte("golden-key-admin"), Scopes: []string{"admin"}})
	w.must(err)
	clk.advance(time.Minute)
	w.app, err = s.CreateAPIKey(APIKey{AccountID: w.acme.ID, Name: "app", Prefix: "bws_app00002", Hash: []byte("golden-key-app"), Scopes: []string{"upload", "pins:read", "pins:write", "tokens:write"}})
	w.must(err)
	old, err := s.CreateAPIKey(APIKey{AccountID: w.acme.ID, Name: "old", Prefix: "bws_old00003", Hash: []byte("golden-key-old"), Scopes: []string{"upload"}})
	w.must(err)
	_, err = s.RevokeAPIKey("", old.ID)
	w.must(err)
	w.betaK, err = s.CreateAPIKey(APIKey{AccountID: w.beta.ID, Name: "beta", Prefix: "bws_bet00004", Hash: []byte("golden-key-beta"), Scopes: []string{"upload", "pins:read"}})
	w.must(err)

	clk.advance(time.Minute)
	w.gallery, err = s.CreateToken(Token{AccountID: w.acme.ID, KeyID: w.app.ID, Name: "Gallery", Prefix: "sup_gal00001", Hash: []byte("golden-tok-gallery"),
		Scopes: []string{"upload"}, ExpiresAt: clk.now().Add(72 * time.Hour), MaxUploads: 10, MaxFileBytes: 5 << 20,
		AllowedMimeTypes: []string{"image/*"}, IPAllow: []string{"10.0.0.0/8"}, AllowedOrigins: []string{"https://app.example"},
		BoundName: "gallery", BoundMetadata: map[string]string{"album": "summer"}})
	w.must(err)
	w.short, err = s.CreateToken(Token{AccountID: w.acme.ID, KeyID: w.app.ID, Name: "short", Prefix: "sup_sho00002", Hash: []byte("golden-tok-short"),
		Scopes: []string{"upload"}, ExpiresAt: clk.now().Add(time.Hour), MaxTotalBytes: 1 << 20})
	w.must(err)
	revoked, err := s.CreateToken(Token{AccountID: w.acme.ID, KeyID: w.app.ID, Name: "revoked", Prefix: "sup_rev00003", Hash: []byte("golden-tok-revoked"),
		Scopes: []string{"upload"}, ExpiresAt: clk.now().Add(24 * time.Hour)})
	w.must(err)
	_, err = s.RevokeToken(w.acme.ID, revoked.ID)
	w.must(err)
	w.forever, err = s.CreateToken(Token{AccountID: w.beta.ID, KeyID: w.betaK.ID, Name: "forever", Prefix: "sup_for00004", Hash: []byte("golden-tok-forever"), Scopes: []string{"upload"}})
	w.must(err)
}

func (w *goldenWriter) jwtCredentials() {
	s, clk := w.s, w.clk
	clk.advance(time.Minute)
	sk, err := s.CreateSigningKey(SigningKey{ID: "usk_golden0001", AccountID: w.acme.ID, KeyID: w.app.ID, Name: "backend", Secret: "uss_goldensecret1"})
	w.must(err)
	sk2, err := s.CreateSigningKey(SigningKey{ID: "usk_golden0002", AccountID: w.acme.ID, KeyID: w.app.ID, Name: "retired", Secret: "uss_goldensecret2"})
	w.must(err)
	_, err = s.RevokeSigningKey("", sk2.ID)
	w.must(err)
	jwt1, err := s.CreateAccessJWT(AccessJWT{JTI: "ajt_golden0001", AccountID: w.acme.ID, KeyID: w.app.ID, Name: "ci", Scopes: []string{"pins:read"},
		ExpiresAt: clk.now().Add(30 * 24 * time.Hour), MaxUses: 5})
	w.must(err)
	for range 2 {
		ok, err := s.UseAccessJWT(jwt1.JTI)
		w.must(err)
		if !ok {
			w.t.Fatal("access jwt use refused")
		}
	}
	jwt2, err := s.CreateAccessJWT(AccessJWT{JTI: "ajt_golden0002", AccountID: w.beta.ID, KeyID: w.betaK.ID, Name: "revoked", Scopes: []string{"upload"},
		ExpiresAt: clk.now().Add(time.Hour)})
	w.must(err)
	_, err = s.RevokeAccessJWT("", jwt2.JTI)
	w.must(err)
	for i, exp := range []time.Duration{-3 * time.Hour, time.Hour, 2 * time.Hour} {
		j := goldenJTI{Issuer: sk.ID, JTI: fmt.Sprintf("jti-%d", i), Expires: clk.now().Add(exp)}
		fresh, err := s.ConsumeJTI(j.Issuer, j.JTI, j.Expires)
		w.must(err)
		if !fresh {
			w.t.Fatal("jti not fresh")
		}
		w.g.JTIs = append(w.g.JTIs, j)
	}
	// A jti consumed before jtis were scoped by issuer: a bare key.
	bare := goldenJTI{JTI: "jti-unscoped", Expires: clk.now().Add(90 * time.Minute)}
	w.must(s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJTIs).Put([]byte(bare.JTI), u64(uint64(bare.Expires.UnixNano())))
	}))
	w.g.JTIs = append(w.g.JTIs, bare)
}

// upload pins p as an upload by key (or, if tok is set, by tok) would, with
// its use and its event.
func (w *goldenWriter) upload(acct Account, key APIKey, tok *Token, p Pin) Pin {
	w.t.Helper()
	p.AccountID, p.KeyID = acct.ID, key.ID
	p.CredentialID, p.Prefix = key.ID, key.Prefix
	var use *TokenUse
	if tok != nil {
		p.CredentialID, p.Prefix = tok.ID, tok.Prefix
		ok, err := w.s.Reserve(tok.ID)
		w.must(err)
		if !ok {
			w.t.Fatalf("reserve %s refused", tok.ID)
		}
		use = &TokenUse{TokenID: tok.ID, Bytes: p.Size}
	}
	out, err := w.s.AddPins([]Pin{p}, use)
	w.must(err)
	w.s.RecordEvent(Event{AccountID: acct.ID, KeyID: key.ID, TokenID: p.CredentialID, Prefix: p.Prefix, Endpoint: "POST /upload",
		Status: 200, Bytes: p.Size, MimeType: p.MimeType, CID: p.CID})
	w.clk.advance(7 * time.Minute)
	return out[0]
}

// pins writes uploads over three days with the events around them, and
// the same CID pinned twice in one account and once in another.
func (w *goldenWriter) pins() {
	s, acme, app := w.s, w.acme, w.app
	for day := range 3 {
		for i := range 4 {
			n := day*4 + i
			p := Pin{CID: fmt.Sprintf("bafkgolden%02d", n), Name: fmt.Sprintf("photo-%02d.png", n), MimeType: "image/png",
				Size: int64(1000 + n), DagSize: int64(1100 + n), Metadata: map[string]string{"album": "summer", "n": fmt.Sprint(n)}}
			var tok *Token
			switch i {
			case 0:
				tok = &w.gallery
			case 1:
				tok = &w.short
				p.MimeType, p.Name, p.Description = "text/plain", fmt.Sprintf("notes-%02d.txt", n), "meeting notes"
			}
			w.g.Pins = append(w.g.Pins, w.upload(acme, app, tok, p))
		}
		// Failed uploads and other requests are events only.
		s.RecordEvent(Event{AccountID: acme.ID, KeyID: app.ID, TokenID: w.gallery.ID, Prefix: w.gallery.Prefix, Endpoint: "POST /upload", Status: 413, Reason: "SIZE_EXCEEDED"})
		s.RecordEvent(Event{AccountID: acme.ID, KeyID: app.ID, Prefix: app.Prefix, Endpoint: "GET /psa/pins", Status: 200})
		s.RecordEvent(Event{AccountID: acme.ID, KeyID: app.ID, Prefix: app.Prefix, Endpoint: "POST /upload/new", Status: 200, Bytes: 42, MimeType: "application/json", CID: "bafkgoldenjson"})
		// Anonymous gateway reads of acme's and beta's content.
		last := w.g.Pins[len(w.g.Pins)-1].CID
		s.RecordEvent(Event{Endpoint: "GET /ipfs/", Status: 200, GatewayBytes: 500, CID: last})
		s.RecordEvent(Event{Endpoint: "GET /ipfs/", Status: 200, GatewayBytes: 250, CID: last})
		s.RecordEvent(Event{Endpoint: "GET /ipfs/", Status: 200, GatewayBytes: 9, CID: "bafkgoldenshared"})
		s.FlushEvents()
		w.clk.advance(24*time.Hour - 28*time.Minute)
	}
	first := w.g.Pins[0]
	w.g.Pins = append(w.g.Pins,
		w.upload(acme, app, nil, Pin{CID: first.CID, Name: "copy of photo-00.png", MimeType: "image/png", Size: first.Size}),
		w.upload(acme, app, nil, Pin{CID: "bafkgoldenshared", Name: "shared.bin", Size: 9, Origins: []string{"/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWGolden"}}),
		w.upload(w.beta, w.betaK, &w.forever, Pin{CID: "bafkgoldenshared", Name: "shared.bin", Size: 9}))
}

// queue writes pin-by-CID requests in every state and deletes two pins,
// one of them while queued (which leaves a stale queue entry).
func (w *goldenWriter) queue() {
	s := w.s
	queue := func(acct Account, key APIKey, cid, name string, meta map[string]string) Pin {
		p, err := s.AddQueuedPin(Pin{AccountID: acct.ID, KeyID: key.ID, CredentialID: key.ID, Prefix: key.Prefix, CID: cid, Name: name,
			Metadata: meta, Origins: []string{"/dns4/peer.example/tcp/4001/p2p/12D3KooWOrigin"}})
		w.must(err)
		w.clk.advance(time.Minute)
		return p
	}
	queued := queue(w.acme, w.app, "bafyqueued", "waiting", map[string]string{"source": "psa"})
	pinning := queue(w.acme, w.app, "bafypinning", "fetching", nil)
	pinned := queue(w.beta, w.betaK, "bafyfetched", "fetched", map[string]string{"source": "psa"})
	failed := queue(w.acme, w.app, "bafyfailed", "unreachable", nil)
	var err error
	pinning, err = s.UpdateQueuedPin(pinning.ID, func(p *Pin) error { p.Status = StatusPinning; return nil })
	w.must(err)
	pinned, err = s.UpdateQueuedPin(pinned.ID, func(p *Pin) error { p.Status, p.Size, p.DagSize = StatusPinned, 4096, 4200; return nil })
	w.must(err)
	failed, err = s.UpdateQueuedPin(failed.ID, func(p *Pin) error { p.Status, p.Reason = StatusFailed, "timeout"; return nil })
	w.must(err)
	w.g.Pins = append(w.g.Pins, queued, pinning, pinned, failed)

	gone, err := s.DeletePin(w.acme.ID, w.g.Pins[5].ID)
	w.must(err)
	stale := queue(w.acme, w.app, "bafydeletedwhilequeued", "", nil)
	_, err = s.DeletePin(w.acme.ID, stale.ID)
	w.must(err)
	w.g.Deleted = []string{gone.ID, stale.ID}
}

// manifest reads back every record into the manifest.
func (w *goldenWriter) manifest() {
	s, g := w.s, w.g
	var pins []Pin
	for _, p := range g.Pins {
		if p.ID == g.Deleted[0] {
			continue
		}
		p, err := s.Pin("", p.ID)
		w.must(err)
		pins = append(pins, p)
	}
	g.Pins = pins
	g.Now = w.clk.now()
	var err error
	g.Accounts, err = s.Accounts()
	w.must(err)
	g.Keys, err = s.APIKeys("")
	w.must(err)
	g.Tokens, err = s.Tokens("")
	w.must(err)
	g.SigningKeys, err = s.SigningKeys("")
	w.must(err)
	g.AccessJWTs, err = s.AccessJWTs("")
	w.must(err)
	w.must(s.Events("", time.Time{}, w.clk.now().Add(time.Hour), func(e Event) error { g.Events = append(g.Events, e); return nil }))
}
