package server

import (
	"net/http"
	"time"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
)

const dayFormat = "2006-01-02"

// handleAnalytics reports an account's uploads, storage, file types and
// gateway bandwidth over [from, to] (dates, inclusive; default the last 30
// days), optionally only for the credential whose prefix is apiKey.
func (s *Server) handleAnalytics(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, end, err := analyticsRange(q.Get("from"), q.Get("to"), s.svc.Now())
	if err != nil {
		return err
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	rep, err := s.svc.Analytics(r.Context(), accountID, from, end, q.Get("apiKey"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewAnalytics(rep))
	return nil
}

func viewAnalytics(rep pinning.Report) api.Analytics {
	out := api.Analytics{
		From: rep.From.Format(dayFormat), To: rep.End.AddDate(0, 0, -1).Format(dayFormat), APIKey: rep.Prefix,
		Totals: api.Totals{
			Uploads: rep.Totals.Uploads, FailedUploads: rep.Totals.FailedUploads, BytesUploaded: rep.Totals.BytesUploaded,
			StorageBytes: rep.Totals.StorageBytes, Pins: rep.Totals.Pins, GatewayBytes: rep.Totals.GatewayBytes,
			GatewayReads: rep.Totals.GatewayReads, Requests: rep.Totals.Requests,
			FileTypes: rep.Totals.FileTypes, FileTypesBytes: rep.Totals.FileTypesBytes,
		},
		Daily:         make([]api.DayStats, len(rep.Daily)),
		StorageGrowth: make([]api.DayAmount, len(rep.StorageGrowth)),
	}
	for i, d := range rep.Daily {
		date := d.Date.Format(dayFormat)
		out.Daily[i] = api.DayStats{Date: date, Uploads: d.Uploads, FailedUploads: d.FailedUploads, Bytes: d.Bytes,
			GatewayBytes: d.GatewayBytes, Requests: d.Requests}
		out.StorageGrowth[i] = api.DayAmount{Date: date, Bytes: rep.StorageGrowth[i]}
	}
	return out
}

// analyticsRange turns the from and to parameters into whole UTC days
// [from, end).
func analyticsRange(fromParam, toParam string, now time.Time) (from, end time.Time, err error) {
	to := now.UTC()
	from = to.AddDate(0, 0, -29)
	if toParam != "" {
		if to, err = parseTimeParam("to", toParam); err != nil {
			return from, end, err
		}
	}
	if fromParam != "" {
		if from, err = parseTimeParam("from", fromParam); err != nil {
			return from, end, err
		}
	}
	from = truncDay(from)
	end = truncDay(to).AddDate(0, 0, 1)
	if days := int(end.Sub(from).Hours() / 24); days < 1 || days > pinning.MaxAnalyticsDays {
		return from, end, errInvalid("the range must cover 1 to %d days", pinning.MaxAnalyticsDays)
	}
	return from, end, nil
}

func truncDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
