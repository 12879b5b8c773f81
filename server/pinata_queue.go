package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
)

// Pin by CID in both Pinata APIs: a request is a pin record whose status
// is queued or pinning until its fetch ends pinned or failed (queue.go in
// the domain). Pinata's queue lists the requests not pinned yet; ninja
// names their states as Pinata does: queued is "prechecking", pinning
// "retrieving", failed (the fetch timed out) "expired". A pinned request is
// a file and leaves the queue.

// jobStatus is a pin's state as Pinata's queue names it.
func jobStatus(status string) string {
	switch status {
	case store.StatusQueued:
		return "prechecking"
	case store.StatusPinning:
		return "retrieving"
	case store.StatusFailed:
		return "expired"
	}
	return status // pinned
}

// jobStatuses reads a queue's status filter (Pinata's names; "searching"
// is the legacy API's name for retrieving). Absent, it is every request
// not pinned.
func jobStatuses(v string) ([]string, error) {
	switch v {
	case "":
		return []string{store.StatusQueued, store.StatusPinning, store.StatusFailed}, nil
	case "prechecking":
		return []string{store.StatusQueued}, nil
	case "retrieving", "searching":
		return []string{store.StatusPinning}, nil
	case "expired":
		return []string{store.StatusFailed}, nil
	case "pinned":
		return []string{store.StatusPinned}, nil
	}
	return nil, errInvalid("status %q: ninja's requests are prechecking, retrieving (searching), expired or pinned", v)
}

func pinataJob(p store.Pin, group string) api.PinataJob {
	j := api.PinataJob{ID: p.ID, CID: p.CID, DateQueued: p.Created.Format(timeFormat), Name: p.Name,
		Status: jobStatus(p.Status), Keyvalues: p.Metadata, HostNodes: p.Origins}
	if j.Keyvalues == nil {
		j.Keyvalues = map[string]string{}
	}
	if j.HostNodes == nil {
		j.HostNodes = []string{}
	}
	if group != "" {
		j.GroupID = &group
	}
	return j
}

// handlePinataPinByCID is POST /v3/files/public/pin_by_cid: a pin-by-CID
// request, fetched from host_nodes first, that may join a group.
func (s *Server) handlePinataPinByCID(w http.ResponseWriter, r *http.Request) error {
	var in api.PinataPinByCID
	if err := decodeJSON(w, r, maxSmallBody, &in, false); err != nil {
		return err
	}
	meta, err := parseMetadata(in.Keyvalues)
	if err != nil {
		return err
	}
	rec, err := s.svc.PinByCID(r.Context(), actor(r), pinning.PinRequest{CID: in.CID, Name: in.Name,
		Metadata: meta, Origins: in.HostNodes, Group: in.GroupID})
	if err != nil {
		return err
	}
	state(r).cid = rec.CID
	writeJSON(w, http.StatusOK, api.PinataData[api.PinataJob]{Data: pinataJob(rec, in.GroupID)})
	return nil
}

// parseQueueFilter reads the v3 queue's query: status, cid, limit,
// pageToken and sort (ASC, or DSC as the SDK spells it).
func parseQueueFilter(q url.Values) (store.PinFilter, int, error) {
	var f store.PinFilter
	var err error
	if f.Status, err = jobStatuses(q.Get("status")); err != nil {
		return f, 0, err
	}
	limit, err := pinataLimit(q.Get("limit"))
	if err != nil {
		return f, 0, err
	}
	f.Limit = limit + 1
	if v := q.Get("cid"); v != "" {
		c, err := pinning.ParseCID(v)
		if err != nil {
			return f, 0, err
		}
		f.CIDs = []string{c.String()}
	}
	switch strings.ToUpper(q.Get("sort")) {
	case "", "DSC", "DESC":
	case "ASC":
		f.Ascending = true
	default:
		return f, 0, errInvalid("sort must be ASC or DSC")
	}
	return f, limit, applyPageToken(&f, q.Get("pageToken"))
}

// handlePinataQueue is GET /v3/files/public/pin_by_cid: the account's pin
// requests, newest first, one page and the token of the next.
func (s *Server) handlePinataQueue(w http.ResponseWriter, r *http.Request) error {
	f, limit, err := parseQueueFilter(r.URL.Query())
	if err != nil {
		return err
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	page, err := s.svc.ListPinsWithGroups(r.Context(), accountID, f)
	if err != nil {
		return err
	}
	out := api.PinataJobList{Jobs: []api.PinataJob{}}
	pins := page.Pins
	if len(pins) > limit {
		pins = pins[:limit]
		out.NextPageToken = pageToken(pins[limit-1])
	}
	for _, p := range pins {
		group := ""
		if g := page.Groups[p.ID]; len(g) > 0 {
			group = g[0]
		}
		out.Jobs = append(out.Jobs, pinataJob(p, group))
	}
	writeJSON(w, http.StatusOK, api.PinataData[api.PinataJobList]{Data: out})
	return nil
}

// handlePinataCancel is DELETE /v3/files/public/pin_by_cid/{id}: the
// request goes and its fetch stops. The id is the file's too, so a request
// that was pinned meanwhile is deleted as a file.
func (s *Server) handlePinataCancel(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeletePin(r.Context(), actor(r).AccountID, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataData[any]{})
	return nil
}
