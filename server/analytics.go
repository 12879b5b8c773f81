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
	now := s.now().UTC()
	to := now
	from := now.AddDate(0, 0, -29)
	var err error
	if v := q.Get("to"); v != "" {
		if to, err = parseTimeParam(v); err != nil {
			s.writeError(w, r, badRequest("to: %v", err))
			return
		}
	}
	if v := q.Get("from"); v != "" {
		if from, err = parseTimeParam(v); err != nil {
			s.writeError(w, r, badRequest("from: %v", err))
			return
		}
	}
	from = truncDay(from)
	end := truncDay(to).AddDate(0, 0, 1)
	days := int(end.Sub(from).Hours() / 24)
	if days < 1 || days > maxAnalyticsDays {
		s.writeError(w, r, badRequest("the range must cover 1 to %d days", maxAnalyticsDays))
		return
	}
	filter := q.Get("apiKey")
	a, err := s.targetAccount(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	// The account's pins: storage now, storage growth, and which CIDs'
	// gateway reads belong to this account (and prefix).
	pins, _, err := s.store.ListPins(a.ID, store.PinFilter{})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := analytics{From: from.Format(dayFormat), To: end.AddDate(0, 0, -1).Format(dayFormat), APIKey: filter}
	out.Totals.FileTypes = map[string]int64{}
	out.Totals.FileTypesBytes = map[string]int64{}
	owned := map[string]bool{}
	growth := make([]int64, days)
	var before int64
	for _, p := range pins {
		if !prefixMatches(p.Prefix, filter) || p.Status != store.StatusPinned {
			continue
		}
		owned[p.CID] = true
		out.Totals.Pins++
		out.Totals.StorageBytes += p.Size
		switch {
		case p.Created.Before(from):
			before += p.Size
		case p.Created.Before(end):
			growth[int(p.Created.Sub(from).Hours()/24)] += p.Size
		}
	}
	out.StorageGrowth = make([]dayAmount, days)
	for i := range days {
		before += growth[i]
		out.StorageGrowth[i] = dayAmount{Date: from.AddDate(0, 0, i).Format(dayFormat), Bytes: before}
	}

	out.Daily = make([]dayStats, days)
	for i := range out.Daily {
		out.Daily[i].Date = from.AddDate(0, 0, i).Format(dayFormat)
	}
	err = s.store.Events("", from, end, func(e store.Event) error {
		d := &out.Daily[int(e.Time.Sub(from).Hours()/24)]
		if e.AccountID == "" { // a gateway read
			if e.GatewayBytes > 0 && owned[e.CID] {
				d.GatewayBytes += e.GatewayBytes
				out.Totals.GatewayBytes += e.GatewayBytes
				out.Totals.GatewayReads++
			}
			return nil
		}
		if e.AccountID != a.ID || !prefixMatches(e.Prefix, filter) {
			return nil
		}
		d.Requests++
		out.Totals.Requests++
		if !isUpload(e.Endpoint) {
			return nil
		}
		if e.Status < 200 || e.Status > 299 {
			d.FailedUploads++
			out.Totals.FailedUploads++
			return nil
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
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func truncDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
