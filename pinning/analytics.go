package pinning

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// MaxAnalyticsDays bounds one report's daily series.
const MaxAnalyticsDays = 366

// RequestRecord is one finished request, as the server reports it for
// analytics.
type RequestRecord struct {
	// Principal is the credential the request resolved to (also when it
	// was refused); the zero Principal records nothing.
	Principal Principal
	Endpoint  string // the route pattern
	Status    int
	// Upload marks an upload endpoint: a refused or failed upload by an
	// upload token counts against the token under Reason.
	Upload bool
	// Refused marks a request refused by the credential check (any
	// endpoint): it counts against an upload token too.
	Refused  bool
	Reason   string // the error reason, when Status is not 2xx
	Bytes    int64  // bytes uploaded
	MimeType string
	CID      string
}

// RecordRequest records a finished request in its account's analytics,
// and a refused or failed upload against the upload token that made it.
// Events are batched by the store (no fsync per request).
func (s *Service) RecordRequest(r RequestRecord) {
	g := r.Principal
	if r.Upload {
		outcome := "ok"
		switch {
		case r.Status >= 500:
			outcome = "failed"
		case r.Status >= 300:
			outcome = "refused"
		}
		s.obs.Upload(g.Kind.Label(), outcome, r.Bytes)
	}
	if g.AccountID == "" || g.Operator {
		return
	}
	e := store.Event{AccountID: g.AccountID, KeyID: g.IssuerKeyID, Prefix: g.Prefix, Endpoint: r.Endpoint,
		Status: r.Status, Bytes: r.Bytes, MimeType: r.MimeType, CID: r.CID}
	if g.Kind != token.KindAPIKey {
		e.TokenID = g.CredentialID
	}
	s.store.RecordEvent(e)
	failed := r.Status < 200 || r.Status > 299
	if g.Kind == token.KindUploadToken && failed && (r.Upload || r.Refused) && r.Reason != "" {
		s.store.RecordFailure(g.CredentialID, r.Reason)
	}
}

// RecordGatewayRead counts bytes the gateway served for a CID. Reads are
// anonymous; they count for the accounts whose pins hold the CID. They are
// summed in memory per CID and handed to the store once a second, one
// event per CID: 100,000 reads of one file are one record, not 100,000.
func (s *Service) RecordGatewayRead(c string, status int, n int64) {
	if c == "" || n <= 0 {
		return
	}
	s.reads.add(c, n)
}

// gatewayReads sums anonymous reads per CID between flushes. It is bounded:
// past maxPendingReads distinct CIDs it flushes early.
type gatewayReads struct {
	mu    sync.Mutex
	sums  map[string]*readSum
	flush func(map[string]*readSum)
}

type readSum struct {
	reads, bytes int64
	first        time.Time
}

const maxPendingReads = 4096

func (g *gatewayReads) add(c string, n int64) {
	g.mu.Lock()
	r := g.sums[c]
	if r == nil {
		r = &readSum{first: time.Now()}
		g.sums[c] = r
	}
	r.reads++
	r.bytes += n
	var full map[string]*readSum
	if len(g.sums) >= maxPendingReads {
		full, g.sums = g.sums, map[string]*readSum{}
	}
	g.mu.Unlock()
	if full != nil {
		g.flush(full)
	}
}

// take returns the sums so far and starts new ones.
func (g *gatewayReads) take() map[string]*readSum {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.sums
	g.sums = map[string]*readSum{}
	return out
}

// recordReads hands summed reads to the store, one event per CID.
func (s *Service) recordReads(sums map[string]*readSum) {
	for c, r := range sums {
		s.store.RecordEvent(store.Event{Time: r.first.UTC(), Endpoint: "GET /ipfs/", Status: 200, GatewayBytes: r.bytes, Reads: r.reads, CID: c})
	}
}

// runReads flushes the summed reads every second until ctx is done, and
// once more then.
func (s *Service) runReads(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.recordReads(s.reads.take())
			return
		case <-t.C:
			s.recordReads(s.reads.take())
		}
	}
}

// FlushGatewayReads hands the summed reads to the store now (tests).
func (s *Service) FlushGatewayReads() { s.recordReads(s.reads.take()) }

// Report is an account's analytics over whole UTC days [From, End).
type Report struct {
	From, End     time.Time
	Prefix        string
	Totals        Totals
	Daily         []DayStats
	StorageGrowth []int64 // stored bytes at the end of each day
}

// Totals are a report's sums.
type Totals struct {
	Uploads, FailedUploads, BytesUploaded, StorageBytes, Pins int64
	GatewayBytes, GatewayReads, Requests                      int64
	FileTypes, FileTypesBytes                                 map[string]int64
}

// DayStats is one day of a report.
type DayStats struct {
	Date                                                  time.Time
	Uploads, FailedUploads, Bytes, GatewayBytes, Requests int64
}

// Analytics reports an account's uploads, storage, file types and gateway
// bandwidth over the UTC days [from, end), optionally only for the
// credentials whose display prefix matches prefix (a display prefix, or a
// shorter prefix of one). It reads the store's daily roll-ups, never the
// raw events, so a month costs the same at 10 million events as at ten.
// Gateway reads are anonymous; they count for the accounts (and
// credentials) whose pins held the CID when it was read.
func (s *Service) Analytics(ctx context.Context, accountID string, from, end time.Time, prefix string) (Report, error) {
	days := int(end.Sub(from).Hours() / 24)
	if days < 1 || days > MaxAnalyticsDays {
		return Report{}, fmt.Errorf("%w: the range must cover 1 to %d days", ErrInvalid, MaxAnalyticsDays)
	}
	r, err := s.store.Rollup(accountID, prefix, from, end)
	if err != nil {
		return Report{}, fmt.Errorf("analytics: %w", err)
	}
	out := Report{From: from, End: end, Prefix: prefix, Daily: make([]DayStats, len(r.Days)), StorageGrowth: make([]int64, len(r.Days))}
	t := r.Totals
	out.Totals = Totals{Uploads: t.Uploads, FailedUploads: t.FailedUploads, BytesUploaded: t.UploadedBytes,
		StorageBytes: t.StoredBytes, Pins: t.Pins, GatewayBytes: t.GatewayBytes, GatewayReads: t.GatewayReads,
		Requests: t.Requests, FileTypes: map[string]int64{}, FileTypesBytes: map[string]int64{}}
	for mt, ft := range t.FileTypes {
		out.Totals.FileTypes[mt] = ft.Count
		out.Totals.FileTypesBytes[mt] = ft.Bytes
	}
	for i, d := range r.Days {
		out.Daily[i] = DayStats{Date: d.Day, Uploads: d.Uploads, FailedUploads: d.FailedUploads, Bytes: d.UploadedBytes,
			GatewayBytes: d.GatewayBytes, Requests: d.Requests}
		out.StorageGrowth[i] = d.StoredBytes
	}
	return out, nil
}
