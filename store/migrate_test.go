package store

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// openGolden opens a copy of the schema-3 golden database with the clock
// an hour after it was written, and returns its manifest.
func openGolden(t *testing.T) (*Store, *golden, string) {
	t.Helper()
	raw, err := os.ReadFile(goldenManifest)
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(goldenDB)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ninja.db")
	if err := os.WriteFile(path, db, 0o600); err != nil {
		t.Fatal(err)
	}
	now := g.Now.Add(time.Hour)
	s, err := Open(path, Options{Now: func() time.Time { return now }, PruneInterval: -1})
	if err != nil {
		t.Fatalf("open the golden database: %v", err)
	}
	t.Cleanup(func() { s.Close(t.Context()) })
	return s, &g, path
}

// sameJSON fails unless got and want encode alike.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func TestASchema3DatabaseMigratesInPlaceWithEveryRecord(t *testing.T) {
	s, g, _ := openGolden(t)
	if v, err := s.schemaVersion(); err != nil || v != uint64(len(migrations)) {
		t.Fatalf("schema %d (%v), want %d", v, err, len(migrations))
	}
	accts, err := s.Accounts()
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "accounts", accts, g.Accounts)
	for _, a := range g.Accounts {
		byName, err := s.Account(a.Name)
		if err != nil || byName.ID != a.ID {
			t.Errorf("account by name %q: %v %v", a.Name, byName, err)
		}
	}
	keys, _ := s.APIKeys("")
	sameJSON(t, "keys", keys, g.Keys)
	for _, k := range g.Keys {
		if got, err := s.APIKeyByHash(k.Hash); err != nil || got.ID != k.ID {
			t.Errorf("key by hash %s: %v", k.ID, err)
		}
	}
	tokens, _ := s.Tokens("")
	sameJSON(t, "tokens", tokens, g.Tokens)
	for _, tok := range g.Tokens {
		if got, _, err := s.TokenByHash(tok.Hash); err != nil || got.ID != tok.ID {
			t.Errorf("token by hash %s: %v", tok.ID, err)
		}
	}
	sks, _ := s.SigningKeys("")
	sameJSON(t, "signing keys", sks, g.SigningKeys)
	jwts, _ := s.AccessJWTs("")
	sameJSON(t, "access jwts", jwts, g.AccessJWTs)
	for _, a := range g.Accounts {
		checkPagedCredentials(t, s, g, a.ID)
	}
	for _, j := range g.JTIs {
		if j.Expires.Before(g.Now.Add(-jtiWindow)) {
			continue // schema 3 pruned it as later jtis came in
		}
		if fresh, err := s.ConsumeJTI(j.Issuer, j.JTI, j.Expires); err != nil || fresh {
			t.Errorf("jti %s/%s is fresh again after migration (%v)", j.Issuer, j.JTI, err)
		}
	}
	checkGoldenPins(t, s, g)
	checkGoldenEvents(t, s, g)
}

// checkPagedCredentials pages one account's credentials two at a time and
// compares them with the manifest, newest first.
func checkPagedCredentials(t *testing.T, s *Store, g *golden, acct string) {
	t.Helper()
	var wantKeys []APIKey
	for _, k := range slices.Backward(g.Keys) {
		if k.AccountID == acct {
			wantKeys = append(wantKeys, k)
		}
	}
	var gotKeys []APIKey
	for p := (Page{Limit: 2}); ; {
		page, next, err := s.ListAPIKeys(acct, p)
		if err != nil {
			t.Fatal(err)
		}
		gotKeys = append(gotKeys, page...)
		if next == "" {
			break
		}
		p.Cursor = next
	}
	slices.SortStableFunc(wantKeys, func(a, b APIKey) int { return b.Created.Compare(a.Created) })
	if len(gotKeys) != len(wantKeys) {
		t.Errorf("account %s: paged %d keys, want %d", acct, len(gotKeys), len(wantKeys))
	}
	var wantTokens []string
	for _, tok := range g.Tokens {
		if tok.AccountID == acct {
			wantTokens = append(wantTokens, tok.ID)
		}
	}
	got, next, err := s.ListTokens(acct, Page{})
	if err != nil || next != "" || len(got) != len(wantTokens) {
		t.Errorf("account %s: %d tokens, next %q, %v; want %d", acct, len(got), next, err, len(wantTokens))
	}
}

func checkGoldenPins(t *testing.T, s *Store, g *golden) {
	t.Helper()
	byAcct := map[string][]Pin{}
	cids := map[string]int64{}
	for _, p := range g.Pins {
		got, err := s.Pin("", p.ID)
		if err != nil {
			t.Fatalf("pin %s: %v", p.ID, err)
		}
		sameJSON(t, "pin "+p.ID, got, p)
		byAcct[p.AccountID] = append(byAcct[p.AccountID], p)
		cids[p.CID]++
	}
	for _, id := range g.Deleted {
		if _, err := s.Pin("", id); err == nil {
			t.Errorf("deleted pin %s is back", id)
		}
	}
	for acct, pins := range byAcct {
		all, total, err := s.ListPins(acct, PinFilter{})
		if err != nil || total != len(pins) || len(all) != len(pins) {
			t.Fatalf("account %s: %d pins (total %d, %v), want %d", acct, len(all), total, err, len(pins))
		}
		usage, _ := s.AccountUsage(acct)
		want := Usage{Pins: int64(len(pins))}
		stored := map[string]int64{}
		for _, p := range pins {
			switch p.Status {
			case StatusPinned:
				want.Pinned++
				if _, ok := stored[p.CID]; !ok {
					stored[p.CID] = p.Size
					want.StoredBytes += p.Size
				}
			case StatusQueued, StatusPinning:
				want.Queued++
			}
			checkPinIsFound(t, s, p)
		}
		if usage != want {
			t.Errorf("account %s usage %+v, want %+v", acct, usage, want)
		}
	}
	queued, err := s.QueuedPins()
	if err != nil || len(queued) != 2 {
		t.Errorf("queued pins %d (%v), want the queued and the pinning request", len(queued), err)
	}
	var live []string
	if err := s.LiveRoots(t.Context(), func(c string) error { live = append(live, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(live) != len(cids) {
		t.Errorf("%d live roots, want %d", len(live), len(cids))
	}
	for c, n := range cids {
		if got, _ := s.RefCount(c); got != n {
			t.Errorf("refcount of %s: %d, want %d", c, got, n)
		}
	}
}

// checkPinIsFound checks that every index finds p.
func checkPinIsFound(t *testing.T, s *Store, p Pin) {
	t.Helper()
	filters := map[string]PinFilter{
		"status": {Status: []string{p.Status}},
		"cid":    {CIDs: []string{p.CID}, Status: []string{p.Status}},
		"before": {Before: p.Created.Add(1), After: p.Created.Add(-1)},
	}
	if p.Name != "" {
		filters["name"] = PinFilter{Name: p.Name}
		filters["ipartial"] = PinFilter{Name: p.Name[1:], Match: "ipartial"}
	}
	if p.MimeType != "" {
		filters["mime"] = PinFilter{MimeType: p.MimeType}
	}
	if p.CredentialID != "" {
		filters["credential"] = PinFilter{CredentialID: p.CredentialID}
	}
	for k, v := range p.Metadata {
		filters["meta "+k] = PinFilter{Meta: map[string]string{k: v}}
	}
	for what, f := range filters {
		pins, _, err := s.ListPins(p.AccountID, f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(pins, func(q Pin) bool { return q.ID == p.ID }) {
			t.Errorf("pin %s (%s) not found by %s", p.ID, p.Name, what)
		}
	}
	byCID, _ := s.PinsByCID(p.AccountID, p.CID)
	if !slices.ContainsFunc(byCID, func(q Pin) bool { return q.ID == p.ID }) {
		t.Errorf("pin %s not found by PinsByCID", p.ID)
	}
}

func checkGoldenEvents(t *testing.T, s *Store, g *golden) {
	t.Helper()
	var events []Event
	err := s.Events("", time.Time{}, g.Now.Add(time.Hour), func(e Event) error { events = append(events, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "events", events, g.Events)
	// The roll-ups say what the raw events do.
	for _, a := range g.Accounts {
		from, to := g.Events[0].Time, g.Now
		r, err := s.Rollup(a.ID, "", from, to)
		if err != nil {
			t.Fatal(err)
		}
		want := expectRollup(g, a.ID, "")
		sameJSON(t, "rollup of "+a.Name, r.Totals.RollupStats, want)
		t.Logf("%s: %d days, totals %+v", a.Name, len(r.Days), r.Totals)
		for _, p := range []string{"sup_gal00001", "bws_app00002", "sup_for"} {
			pr, _ := s.Rollup(a.ID, p, from, to)
			sameJSON(t, "rollup of "+a.Name+" "+p, pr.Totals.RollupStats, expectRollup(g, a.ID, p))
		}
		if last := r.Days[len(r.Days)-1]; last.StoredBytes != r.Totals.StoredBytes {
			t.Errorf("%s: stored %d at the end of the last day, %d now", a.Name, last.StoredBytes, r.Totals.StoredBytes)
		}
	}
}

// expectRollup counts the manifest's events as /analytics does, with the
// default upload endpoints, attributing gateway reads to the pinned pins.
func expectRollup(g *golden, acct, prefix string) RollupStats {
	var r RollupStats
	owned := map[string]bool{}
	for _, p := range g.Pins {
		if p.AccountID == acct && p.Status == StatusPinned && (prefix == "" || prefixMatch(p.Prefix, prefix)) {
			owned[p.CID] = true
		}
	}
	isUpload := (&Store{opts: withDefaults(Options{})}).isUpload
	for _, e := range g.Events {
		if e.AccountID == "" {
			if e.GatewayBytes > 0 && owned[e.CID] {
				r.GatewayReads++
				r.GatewayBytes += e.GatewayBytes
			}
			continue
		}
		if e.AccountID != acct || (prefix != "" && !prefixMatch(e.Prefix, prefix)) {
			continue
		}
		r.Requests++
		if !isUpload(e.Endpoint) {
			continue
		}
		if e.Status < 200 || e.Status > 299 {
			r.FailedUploads++
			continue
		}
		r.Uploads++
		r.UploadedBytes += e.Bytes
		mt := e.MimeType
		if mt == "" {
			mt = "application/octet-stream"
		}
		r.add(RollupStats{FileTypes: map[string]FileTypeStats{mt: {1, e.Bytes}}})
	}
	return r
}

func prefixMatch(eventPrefix, filter string) bool {
	return eventPrefix != "" && (len(eventPrefix) >= len(filter) && eventPrefix[:len(filter)] == filter ||
		len(filter) >= len(eventPrefix) && filter[:len(eventPrefix)] == eventPrefix)
}

func TestASecondOpenOfAMigratedDatabaseChangesNothing(t *testing.T) {
	s, g, path := openGolden(t)
	s.Close(t.Context())
	before := fileChecksum(t, path)
	now := g.Now.Add(time.Hour)
	s2, err := Open(path, Options{Now: func() time.Time { return now }, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s2.schemaVersion(); v != uint64(len(migrations)) {
		t.Fatalf("schema %d after the second open", v)
	}
	s2.Close(t.Context())
	if after := fileChecksum(t, path); after != before {
		t.Fatalf("the second open changed the database:\n%s\n%s", before, after)
	}
}

// fileChecksum hashes every key and value of every bucket, nested ones
// included.
func fileChecksum(t *testing.T, path string) string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := sha256.New()
	n := 0
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			fmt.Fprintf(h, "bucket %q\n", name)
			return b.ForEach(func(k, v []byte) error {
				n++
				fmt.Fprintf(h, "%q=%q\n", k, v)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x (%d keys)", h.Sum(nil), n)
}

func TestAnInterruptedMigrationRerunsFromTheStart(t *testing.T) {
	s, g, path := openGolden(t)
	s.Close(t.Context())
	want := fileChecksum(t, path)
	// Back to schema 3 with half-built indexes, as a crash mid-migration
	// leaves it.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		tx.Bucket(bucketMeta).Put(keySchema, u64(3))
		c := tx.Bucket(bucketPinsByStat).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			c.Delete()
			c.Next()
		}
		return tx.Bucket(bucketPinCounts).Put([]byte("junk"), u64(7))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	now := g.Now.Add(time.Hour)
	s2, err := Open(path, Options{Now: func() time.Time { return now }, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close(t.Context())
	if got := fileChecksum(t, path); got != want {
		t.Fatalf("the rerun migration differs from the first:\n%s\n%s", got, want)
	}
}
