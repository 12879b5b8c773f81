package store

import (
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openClocked(t *testing.T, clk *goldenClock, opts Options) *Store {
	t.Helper()
	opts.Now, opts.NoSync, opts.PruneInterval = clk.now, true, -1
	s, err := Open(filepath.Join(t.TempDir(), "ninja.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(t.Context()) })
	return s
}

func bucketLen(t *testing.T, s *Store, bucket []byte) int {
	t.Helper()
	n := 0
	s.view(func(tx *bolt.Tx) error { n = keyCount(tx.Bucket(bucket)); return nil })
	return n
}

func TestAnonymousGatewayReadsCountForEveryAccountPinningTheCID(t *testing.T) {
	clk := &goldenClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	s := openClocked(t, clk, Options{})
	a, _ := s.CreateAccount("a")
	b, _ := s.CreateAccount("b")
	s.AddPins([]Pin{{AccountID: a.ID, CID: "bafyshared", Prefix: "bws_akey0001", Size: 7}}, nil)
	s.AddPins([]Pin{{AccountID: b.ID, CID: "bafyshared", Prefix: "sup_btok0001", Size: 7}}, nil)
	s.AddPins([]Pin{{AccountID: b.ID, CID: "bafyqueued", Prefix: "sup_btok0001", Status: StatusQueued}}, nil)
	for range 3 {
		s.RecordEvent(Event{Endpoint: "GET /ipfs/", Status: 200, GatewayBytes: 100, CID: "bafyshared"})
	}
	s.RecordEvent(Event{Endpoint: "GET /ipfs/", Status: 200, GatewayBytes: 5, CID: "bafyqueued"}) // not pinned yet: nobody's
	s.RecordEvent(Event{Endpoint: "GET /ipfs/", Status: 200, GatewayBytes: 9, CID: "bafyunknown"})
	s.RecordEvent(Event{AccountID: b.ID, Prefix: "sup_btok0001", Endpoint: "POST /upload", Status: 200, Bytes: 7, MimeType: "text/plain"})
	s.FlushEvents()
	day := clk.now()
	for _, tc := range []struct {
		name, acct, prefix string
		reads, bytes       int64
	}{
		{"account a", a.ID, "", 3, 300},
		{"a's key", a.ID, "bws_akey0001", 3, 300},
		{"a's key by a shorter prefix", a.ID, "bws_", 3, 300},
		{"account b", b.ID, "", 3, 300},
		{"b's token, given whole", b.ID, "sup_btok0001secretpart", 3, 300},
		{"a prefix nobody has", b.ID, "sup_zzz", 0, 0},
	} {
		r, err := s.Rollup(tc.acct, tc.prefix, day, day.Add(time.Nanosecond))
		if err != nil {
			t.Fatal(err)
		}
		if r.Totals.GatewayReads != tc.reads || r.Totals.GatewayBytes != tc.bytes || len(r.Days) != 1 {
			t.Errorf("%s: %d reads, %d bytes over %d days; want %d, %d", tc.name, r.Totals.GatewayReads, r.Totals.GatewayBytes, len(r.Days), tc.reads, tc.bytes)
		}
	}
	// No raw event per read: one sum per CID per day, shown by Events.
	if n := bucketLen(t, s, bucketEvents); n != 1 {
		t.Errorf("%d raw events, want only the upload", n)
	}
	var reads []Event
	s.Events("", day.Add(-time.Hour), day.Add(time.Hour), func(e Event) error {
		if e.AccountID == "" {
			reads = append(reads, e)
		}
		return nil
	})
	found := false
	for _, e := range reads {
		found = found || e.CID == "bafyshared" && e.Reads == 3 && e.GatewayBytes == 300
	}
	if len(reads) != 3 || !found {
		t.Errorf("read sums as events: %+v", reads)
	}
}

func TestRollupsOutliveTheRawEvents(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := &goldenClock{t: start}
	s := openClocked(t, clk, Options{EventRetention: 3 * 24 * time.Hour})
	a, _ := s.CreateAccount("a")
	for d := range 10 {
		for i := range d + 1 {
			s.RecordEvent(Event{AccountID: a.ID, Prefix: "bws_k", Endpoint: "POST /upload/new", Status: 200 + 200*(i%2), Bytes: 10, MimeType: "image/png"})
			s.RecordEvent(Event{AccountID: a.ID, Prefix: "bws_k", Endpoint: "PATCH /tus/{id}", Status: 204})
			s.RecordEvent(Event{AccountID: a.ID, Prefix: "bws_k", Endpoint: "GET /psa/pins", Status: 200})
		}
		s.FlushEvents()
		clk.advance(24 * time.Hour)
	}
	st, err := s.Prune(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var kept int
	s.Events(a.ID, start, clk.now(), func(Event) error { kept++; return nil })
	if kept == 0 || kept >= 3*55 || st.Events != 3*55-kept {
		t.Errorf("%d raw events kept, %d pruned, of %d", kept, st.Events, 3*55)
	}
	r, err := s.Rollup(a.ID, "", start, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	// Day d had d+1 of each: uploads 2xx on even i, failed on odd i.
	var uploads, failed int64
	for d := range 10 {
		for i := range d + 1 {
			if i%2 == 0 {
				uploads += 2 // /upload/new and the tus PATCH
			} else {
				failed++
				uploads++
			}
		}
	}
	// [start, now) touches 11 days; the last is today, with nothing yet.
	if r.Totals.Requests != 3*55 || r.Totals.Uploads != uploads || r.Totals.FailedUploads != failed || len(r.Days) != 11 {
		t.Errorf("totals %+v over %d days; want %d requests, %d uploads, %d failed", r.Totals, len(r.Days), 3*55, uploads, failed)
	}
	if r.Days[0].Requests != 3 || r.Days[9].Requests != 30 {
		t.Errorf("daily requests %d ... %d", r.Days[0].Requests, r.Days[9].Requests)
	}
}

func TestStorageGrowthFollowsPinsAndDeletions(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := &goldenClock{t: start}
	s := openClocked(t, clk, Options{})
	a, _ := s.CreateAccount("a")
	p1, _ := s.AddPins([]Pin{{AccountID: a.ID, CID: "one", Size: 100, Prefix: "sup_x"}}, nil)
	clk.advance(48 * time.Hour)
	s.AddPins([]Pin{{AccountID: a.ID, CID: "two", Size: 50}, {AccountID: a.ID, CID: "one", Size: 100}}, nil)
	clk.advance(24 * time.Hour)
	s.DeletePin(a.ID, p1[0].ID)
	clk.advance(24 * time.Hour)
	r, err := s.Rollup(a.ID, "", start, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	var stored, growth []int64
	for _, d := range r.Days {
		stored, growth = append(stored, d.StoredBytes), append(growth, d.StorageGrowth)
	}
	// "one" stays stored through its second pin.
	if want := []int64{100, 100, 150, 150, 150}; !equal(stored, want) || !equal(growth, []int64{100, 0, 50, 0, 0}) {
		t.Errorf("stored %v growth %v", stored, growth)
	}
	pr, _ := s.Rollup(a.ID, "sup_x", start, clk.now())
	if pr.Totals.StoredBytes != 0 || pr.Days[0].StoredBytes != 100 || pr.Days[3].StoredBytes != 0 || pr.Totals.Pins != 0 {
		t.Errorf("the token's storage: %+v, days %+v", pr.Totals, pr.Days)
	}
	if _, err := s.Rollup(a.ID, "", start, start); err == nil {
		t.Error("an empty range is not an error")
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
