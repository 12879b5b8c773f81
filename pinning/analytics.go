package pinning

import (
	"context"
	"fmt"
	"strings"
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

// RecordGatewayRead records bytes the gateway served for a CID. Reads are
// anonymous; they count for the accounts whose pins hold the CID.
func (s *Service) RecordGatewayRead(c string, status int, n int64) {
	s.store.RecordEvent(store.Event{Endpoint: "GET /ipfs/", Status: status, GatewayBytes: n, CID: c})
}

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

// UploadEndpoints are the route patterns whose requests count as uploads.
var uploadEndpoints = map[string]bool{"POST /upload": true, "POST /upload/new": true}

// Analytics reports an account's uploads, storage, file types and gateway
// bandwidth over the UTC days [from, end), optionally only for the
// credentials whose display prefix matches prefix (a display prefix, a
// shorter prefix of one, or a whole key or token).
func (s *Service) Analytics(ctx context.Context, accountID string, from, end time.Time, prefix string) (Report, error) {
	days := int(end.Sub(from).Hours() / 24)
	if days < 1 || days > MaxAnalyticsDays {
		return Report{}, fmt.Errorf("%w: the range must cover 1 to %d days", ErrInvalid, MaxAnalyticsDays)
	}
	pins, _, err := s.store.ListPins(accountID, store.PinFilter{})
	if err != nil {
		return Report{}, fmt.Errorf("analytics: %w", err)
	}
	out := newReport(from, end, prefix)
	owned := out.addPins(pins, prefix)
	err = s.store.Events("", from, end, func(e store.Event) error {
		out.addEvent(e, accountID, prefix, owned)
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("analytics: %w", err)
	}
	return *out, nil
}

func newReport(from, end time.Time, prefix string) *Report {
	days := int(end.Sub(from).Hours() / 24)
	out := &Report{From: from, End: end, Prefix: prefix, Daily: make([]DayStats, days), StorageGrowth: make([]int64, days)}
	out.Totals.FileTypes = map[string]int64{}
	out.Totals.FileTypesBytes = map[string]int64{}
	for i := range days {
		out.Daily[i].Date = from.AddDate(0, 0, i)
	}
	return out
}

// prefixMatches reports whether an event's credential prefix matches the
// filter.
func prefixMatches(eventPrefix, filter string) bool {
	if filter == "" {
		return true
	}
	if eventPrefix == "" {
		return false
	}
	return strings.HasPrefix(eventPrefix, filter) || strings.HasPrefix(filter, eventPrefix)
}

// addPins counts the pinned storage (now, and its growth over the range)
// of the pins matching filter, each CID once, and returns their CIDs,
// whose gateway reads belong to the report.
func (out *Report) addPins(pins []store.Pin, filter string) map[string]bool {
	owned := map[string]bool{}
	growth := make([]int64, len(out.StorageGrowth))
	var before int64
	for _, p := range pins {
		if !prefixMatches(p.Prefix, filter) || p.Status != store.StatusPinned {
			continue
		}
		out.Totals.Pins++
		if owned[p.CID] {
			continue // stored once, however many pins name it
		}
		owned[p.CID] = true
		size := pinBytes(p)
		out.Totals.StorageBytes += size
		switch {
		case p.Created.Before(out.From):
			before += size
		case p.Created.Before(out.End):
			growth[int(p.Created.Sub(out.From).Hours()/24)] += size
		}
	}
	for i := range growth {
		before += growth[i]
		out.StorageGrowth[i] = before
	}
	return owned
}

// addEvent counts one event of the range: a gateway read of an owned CID,
// or a request of the account by a credential matching filter.
func (out *Report) addEvent(e store.Event, accountID, filter string, owned map[string]bool) {
	d := &out.Daily[int(e.Time.Sub(out.From).Hours()/24)]
	if e.AccountID == "" { // a gateway read
		if e.GatewayBytes > 0 && owned[e.CID] {
			d.GatewayBytes += e.GatewayBytes
			out.Totals.GatewayBytes += e.GatewayBytes
			out.Totals.GatewayReads++
		}
		return
	}
	if e.AccountID != accountID || !prefixMatches(e.Prefix, filter) {
		return
	}
	d.Requests++
	out.Totals.Requests++
	if !uploadEndpoints[e.Endpoint] {
		return
	}
	if e.Status < 200 || e.Status > 299 {
		d.FailedUploads++
		out.Totals.FailedUploads++
		return
	}
	d.Uploads++
	d.Bytes += e.Bytes
	out.Totals.Uploads++
	out.Totals.BytesUploaded += e.Bytes
	mt := e.MimeType
	if mt == "" {
		mt = "application/octet-stream"
	}
	out.Totals.FileTypes[mt]++
	out.Totals.FileTypesBytes[mt] += e.Bytes
}
