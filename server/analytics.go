package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/ninja-ipfs/ninja/store"
)

// analytics is the answer of GET /analytics.
type analytics struct {
	From          string      `json:"from"`
	To            string      `json:"to"`
	APIKey        string      `json:"apiKey,omitempty"`
	Totals        totals      `json:"totals"`
	Daily         []dayStats  `json:"daily"`
	StorageGrowth []dayAmount `json:"storageGrowth"`

	from, end time.Time // the range, [from, end)
}

type totals struct {
	Uploads        int64            `json:"uploads"`
	FailedUploads  int64            `json:"failedUploads"`
	BytesUploaded  int64            `json:"bytesUploaded"`
	StorageBytes   int64            `json:"storageBytes"`
	Pins           int64            `json:"pins"`
	GatewayBytes   int64            `json:"gatewayBytes"`
	GatewayReads   int64            `json:"gatewayRequests"`
	Requests       int64            `json:"requests"`
	FileTypes      map[string]int64 `json:"fileTypes"`
	FileTypesBytes map[string]int64 `json:"fileTypesBytes"`
}

type dayStats struct {
	Date          string `json:"date"`
	Uploads       int64  `json:"uploads"`
	FailedUploads int64  `json:"failedUploads"`
	Bytes         int64  `json:"bytes"`
	GatewayBytes  int64  `json:"gatewayBytes"`
	Requests      int64  `json:"requests"`
}

type dayAmount struct {
	Date  string `json:"date"`
	Bytes int64  `json:"bytes"`
}

const dayFormat = "2006-01-02"

// maxAnalyticsDays bounds one query's daily series.
const maxAnalyticsDays = 366

func isUpload(endpoint string) bool {
	return endpoint == "POST /upload" || endpoint == "POST /upload/new"
}

// prefixMatches reports whether an event's credential prefix matches the
// apiKey filter, which may be a display prefix (sup_xxxxxxxx, bws_xxxxxxxx),
// a shorter prefix of one, or a whole key or token.
func prefixMatches(eventPrefix, filter string) bool {
	if filter == "" {
		return true
	}
	if eventPrefix == "" {
		return false
	}
	return strings.HasPrefix(eventPrefix, filter) || strings.HasPrefix(filter, eventPrefix)
}

// handleAnalytics reports an account's uploads, storage, file types and
// gateway bandwidth over [from, to] (dates, inclusive; default the last 30
// days), optionally only for the credential whose prefix is apiKey.
// Gateway reads are anonymous, so they count for the account (and prefix)
// whose pins hold the CID read.
func (s *Server) handleAnalytics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, end, err := analyticsRange(q.Get("from"), q.Get("to"), s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.targetAccount(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pins, _, err := s.store.ListPins(a.ID, store.PinFilter{})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	filter := q.Get("apiKey")
	out := newAnalytics(from, end, filter)
	owned := out.addPins(pins, filter)
	err = s.store.Events("", from, end, func(e store.Event) error {
		out.addEvent(e, a.ID, filter, owned)
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// analyticsRange turns the from and to parameters into whole UTC days
// [from, end).
func analyticsRange(fromParam, toParam string, now time.Time) (from, end time.Time, err error) {
	to := now.UTC()
	from = to.AddDate(0, 0, -29)
	if toParam != "" {
		if to, err = parseTimeParam(toParam); err != nil {
			return from, end, badRequest("to: %v", err)
		}
	}
	if fromParam != "" {
		if from, err = parseTimeParam(fromParam); err != nil {
			return from, end, badRequest("from: %v", err)
		}
	}
	from = truncDay(from)
	end = truncDay(to).AddDate(0, 0, 1)
	if days := int(end.Sub(from).Hours() / 24); days < 1 || days > maxAnalyticsDays {
		return from, end, badRequest("the range must cover 1 to %d days", maxAnalyticsDays)
	}
	return from, end, nil
}

// newAnalytics is an empty report with one entry per day of [from, end).
func newAnalytics(from, end time.Time, filter string) *analytics {
	days := int(end.Sub(from).Hours() / 24)
	out := &analytics{From: from.Format(dayFormat), To: end.AddDate(0, 0, -1).Format(dayFormat), APIKey: filter,
		Daily: make([]dayStats, days), StorageGrowth: make([]dayAmount, days), from: from, end: end}
	out.Totals.FileTypes = map[string]int64{}
	out.Totals.FileTypesBytes = map[string]int64{}
	for i := range days {
		out.Daily[i].Date = from.AddDate(0, 0, i).Format(dayFormat)
		out.StorageGrowth[i].Date = out.Daily[i].Date
	}
	return out
}

// addPins counts the pinned storage (now, and its growth over the range)
// of the pins matching filter, and returns their CIDs, whose gateway reads
// belong to the report.
func (out *analytics) addPins(pins []store.Pin, filter string) map[string]bool {
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
		out.Totals.StorageBytes += p.Size
		switch {
		case p.Created.Before(out.from):
			before += p.Size
		case p.Created.Before(out.end):
			growth[int(p.Created.Sub(out.from).Hours()/24)] += p.Size
		}
	}
	for i := range growth {
		before += growth[i]
		out.StorageGrowth[i].Bytes = before
	}
	return owned
}

// addEvent counts one event of the range: a gateway read of an owned CID,
// or a request of the account by a credential matching filter.
func (out *analytics) addEvent(e store.Event, accountID, filter string, owned map[string]bool) {
	d := &out.Daily[int(e.Time.Sub(out.from).Hours()/24)]
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
	if !isUpload(e.Endpoint) {
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

func truncDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
