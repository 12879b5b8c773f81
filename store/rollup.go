package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Rollup is an account's analytics over whole UTC days, answered from the
// daily roll-ups the event batches keep (never from raw events), so its
// cost is the number of days, not of events.
type Rollup struct {
	AccountID string       `json:"accountId"`
	Prefix    string       `json:"prefix,omitempty"`
	From      time.Time    `json:"from"` // the first day, 00:00 UTC
	To        time.Time    `json:"to"`   // the day after the last, 00:00 UTC
	Days      []RollupDay  `json:"days"` // one per day, oldest first
	Totals    RollupTotals `json:"totals"`
}

// RollupStats are the counts of a day, or of a range.
type RollupStats struct {
	Requests      int64 `json:"requests,omitempty"` // authenticated requests
	Uploads       int64 `json:"uploads,omitempty"`  // 2xx answers to upload endpoints
	FailedUploads int64 `json:"failedUploads,omitempty"`
	UploadedBytes int64 `json:"uploadedBytes,omitempty"`
	// GatewayReads and GatewayBytes are the anonymous gateway reads of CIDs
	// the account (or prefix) pinned when the read was recorded.
	GatewayReads int64                    `json:"gatewayReads,omitempty"`
	GatewayBytes int64                    `json:"gatewayBytes,omitempty"`
	FileTypes    map[string]FileTypeStats `json:"fileTypes,omitempty"` // uploads by MIME type
}

// FileTypeStats counts the uploads of one MIME type.
type FileTypeStats struct {
	Count int64 `json:"count"`
	Bytes int64 `json:"bytes"`
}

// RollupDay is one day of a Rollup.
type RollupDay struct {
	Day time.Time `json:"day"`
	RollupStats
	StorageGrowth int64 `json:"storageGrowth"` // stored bytes added that day, less those removed
	StoredBytes   int64 `json:"storedBytes"`   // stored bytes at the end of the day
}

// RollupTotals sums a Rollup's days, with what is stored now.
type RollupTotals struct {
	RollupStats
	StoredBytes int64 `json:"storedBytes"` // each pinned CID once, now
	Pins        int64 `json:"pins"`        // pinned pins, now
}

func (r *RollupStats) add(o RollupStats) {
	r.Requests += o.Requests
	r.Uploads += o.Uploads
	r.FailedUploads += o.FailedUploads
	r.UploadedBytes += o.UploadedBytes
	r.GatewayReads += o.GatewayReads
	r.GatewayBytes += o.GatewayBytes
	for mt, s := range o.FileTypes {
		if r.FileTypes == nil {
			r.FileTypes = map[string]FileTypeStats{}
		}
		t := r.FileTypes[mt]
		t.Count += s.Count
		t.Bytes += s.Bytes
		r.FileTypes[mt] = t
	}
}

// maxRollupDays bounds one Rollup.
const maxRollupDays = 3660

// Rollup reports an account's analytics over the UTC days that [from, to)
// touches. prefix "" is every credential; a non-empty prefix counts the
// credentials whose display prefix starts with it, or that it starts with
// (a whole key or token is given where its prefix was recorded), as the
// /analytics apiKey filter always has. A prefix that matches several
// credentials sums theirs, so a CID both pinned counts twice in
// StoredBytes.
func (s *Store) Rollup(accountID, prefix string, from, to time.Time) (Rollup, error) {
	d0, d1 := dayOf(from), dayOf(to.Add(-time.Nanosecond))
	if !to.After(from) || d1-d0 >= maxRollupDays {
		return Rollup{}, fmt.Errorf("rollup: %w: the range must cover 1 to %d days", ErrInvalid, maxRollupDays)
	}
	r := Rollup{AccountID: accountID, Prefix: prefix, From: dayTime(d0), To: dayTime(d1 + 1), Days: make([]RollupDay, d1-d0+1)}
	for i := range r.Days {
		r.Days[i].Day = dayTime(d0 + uint32(i))
	}
	err := s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAccounts).Get([]byte(accountID)) == nil {
			return fmt.Errorf("account %q: %w", accountID, ErrNotFound)
		}
		prefixes := []string{""}
		if prefix != "" {
			prefixes = matchingPrefixes(tx, accountID, prefix)
		}
		for _, p := range prefixes {
			if err := addRollups(tx, &r, accountID, p, d0, d1); err != nil {
				return err
			}
			if err := addStorage(tx, &r, accountID, p, d0, d1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Rollup{}, fmt.Errorf("rollup: %w", err)
	}
	for i := range r.Days {
		r.Totals.add(r.Days[i].RollupStats)
	}
	return r, nil
}

// matchingPrefixes lists the account's recorded credential prefixes that
// start with filter or that filter starts with.
func matchingPrefixes(tx *bolt.Tx, accountID, filter string) []string {
	var out []string
	b := tx.Bucket(bucketPrefixes)
	base := lp(nil, accountID)
	for n := 1; n < len(filter); n++ { // recorded prefixes of the filter
		if b.Get(append(bytes.Clone(base), filter[:n]...)) != nil {
			out = append(out, filter[:n])
		}
	}
	start := append(bytes.Clone(base), filter...)
	c := b.Cursor()
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, start); k, _ = c.Next() {
		out = append(out, string(k[len(base):]))
	}
	return out
}

func rollupKey(accountID, prefix string, day uint32) []byte {
	return dayKey(lp(lp(nil, accountID), prefix), day)
}

// addRollups adds one prefix's day records in [d0, d1] to r.
func addRollups(tx *bolt.Tx, r *Rollup, accountID, prefix string, d0, d1 uint32) error {
	base := lp(lp(nil, accountID), prefix)
	c := tx.Bucket(bucketRollups).Cursor()
	for k, v := c.Seek(dayKey(bytes.Clone(base), d0)); k != nil && bytes.HasPrefix(k, base) && len(k) == len(base)+4; k, v = c.Next() {
		d := binary.BigEndian.Uint32(k[len(base):])
		if d > d1 {
			break
		}
		var st RollupStats
		if err := json.Unmarshal(v, &st); err != nil {
			return fmt.Errorf("%w: roll-up %x does not decode: %v", ErrCorrupt, k, err)
		}
		r.Days[d-d0].add(st)
	}
	return nil
}

// addStorage adds one prefix's storage to r: growth per day, the stored
// bytes at each day's end (what is stored now less the growth since), and
// the totals now.
func addStorage(tx *bolt.Tx, r *Rollup, accountID, prefix string, d0, d1 uint32) error {
	var now, pins int64
	if prefix == "" {
		u := readUsage(tx, accountID)
		now, pins = u.StoredBytes, u.Pinned
	} else {
		pu := readPrefixUsage(tx, accountID, prefix)
		now, pins = pu.stored, pu.pinned
	}
	r.Totals.StoredBytes += now
	r.Totals.Pins += pins
	growth := make([]int64, d1-d0+1)
	var after int64 // growth after d1
	base := lp(lp(nil, accountID), prefix)
	c := tx.Bucket(bucketStorageDays).Cursor()
	for k, v := c.Seek(dayKey(bytes.Clone(base), d0)); k != nil && bytes.HasPrefix(k, base) && len(k) == len(base)+4; k, v = c.Next() {
		if len(v) != 8 {
			return fmt.Errorf("%w: storage day %x does not decode", ErrCorrupt, k)
		}
		d, n := binary.BigEndian.Uint32(k[len(base):]), int64(binary.BigEndian.Uint64(v))
		if d > d1 {
			after += n
		} else {
			growth[d-d0] += n
		}
	}
	stored := now - after
	for i := len(growth) - 1; i >= 0; i-- {
		r.Days[i].StorageGrowth += growth[i]
		r.Days[i].StoredBytes += stored
		stored -= growth[i]
	}
	return nil
}

// rollupBatch sums one event batch's changes to the roll-ups, so each
// day record is read and written once per batch.
type rollupBatch struct {
	isUpload func(endpoint string) bool
	// keepReads records the anonymous reads' per-CID daily sums (gwreads/)
	// as well as attributing them; the migration, whose reads stay raw
	// events, does not.
	keepReads bool
	days      map[dayRef]*RollupStats
	reads     map[readRef]*gwRead
	prefixes  map[[2]string]bool
}

type dayRef struct {
	acct, prefix string
	day          uint32
}

type readRef struct {
	day uint32
	cid string
}

func newRollupBatch(isUpload func(string) bool) *rollupBatch {
	return &rollupBatch{isUpload: isUpload, keepReads: true, days: map[dayRef]*RollupStats{}, reads: map[readRef]*gwRead{}, prefixes: map[[2]string]bool{}}
}

func (r *rollupBatch) day(acct, prefix string, day uint32) *RollupStats {
	k := dayRef{acct, prefix, day}
	st := r.days[k]
	if st == nil {
		st = &RollupStats{}
		r.days[k] = st
	}
	return st
}

// request counts an authenticated request for its account and prefix.
func (r *rollupBatch) request(e Event) {
	day := dayOf(e.Time)
	targets := []*RollupStats{r.day(e.AccountID, "", day)}
	if e.Prefix != "" {
		targets = append(targets, r.day(e.AccountID, e.Prefix, day))
		r.prefixes[[2]string{e.AccountID, e.Prefix}] = true
	}
	upload := r.isUpload(e.Endpoint)
	ok := e.Status >= 200 && e.Status <= 299
	mt := e.MimeType
	if mt == "" {
		mt = "application/octet-stream"
	}
	for _, st := range targets {
		st.Requests++
		switch {
		case upload && !ok:
			st.FailedUploads++
		case upload:
			st.Uploads++
			st.UploadedBytes += e.Bytes
			st.add(RollupStats{FileTypes: map[string]FileTypeStats{mt: {Count: 1, Bytes: e.Bytes}}})
		}
	}
}

// gatewayRead sums an anonymous read into its CID's day.
func (r *rollupBatch) gatewayRead(e Event) {
	k := readRef{dayOf(e.Time), e.CID}
	g := r.reads[k]
	if g == nil {
		g = &gwRead{first: nanos(e.Time)}
		r.reads[k] = g
	}
	g.reads += max(e.Reads, 1) // a caller may sum reads before recording them
	g.bytes += e.GatewayBytes
	g.first = min(g.first, nanos(e.Time))
}

// write attributes the batch's reads to the CIDs' owners and merges every
// sum into the database.
func (r *rollupBatch) write(w *wtx) error {
	tx := w.Tx
	for k, g := range r.reads {
		if r.keepReads {
			if err := mergeGWRead(tx, k, *g); err != nil {
				return err
			}
		}
		add := RollupStats{GatewayReads: g.reads, GatewayBytes: g.bytes}
		err := cidOwners(tx, k.cid, func(acct string, o owner) error {
			r.day(acct, "", k.day).add(add)
			for _, p := range o.prefixes {
				r.day(acct, p.prefix, k.day).add(add)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for p := range r.prefixes {
		if w.cache(bucketPrefixes).get(prefixKey(p[0], p[1])) == nil {
			putPrefixUsage(w, p[0], p[1], prefixUsage{})
		}
	}
	rb := tx.Bucket(bucketRollups)
	for k, st := range r.days {
		key := rollupKey(k.acct, k.prefix, k.day)
		if v := rb.Get(key); v != nil {
			var old RollupStats
			if err := json.Unmarshal(v, &old); err != nil {
				return fmt.Errorf("%w: roll-up %x does not decode: %v", ErrCorrupt, key, err)
			}
			st.add(old)
		}
		if err := putJSON(rb, key, st); err != nil {
			return err
		}
	}
	return nil
}

func mergeGWRead(tx *bolt.Tx, k readRef, g gwRead) error {
	gb := tx.Bucket(bucketGWReads)
	key := gwReadKey(k.day, k.cid)
	if v := gb.Get(key); v != nil {
		old, err := decodeGWRead(v)
		if err != nil {
			return err
		}
		g = gwRead{reads: old.reads + g.reads, bytes: old.bytes + g.bytes, first: min(old.first, g.first)}
	}
	return gb.Put(key, g.encode())
}
