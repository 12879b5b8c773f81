package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
)

// handlePinStatus reports whether, and since when, a CID is pinned by the
// caller's account. An upload token only sees the pins it made itself.
func (s *Server) handlePinStatus(w http.ResponseWriter, r *http.Request) error {
	c, err := pinning.ParseCID(r.PathValue("cid"))
	if err != nil {
		return err
	}
	pins, err := s.svc.PinsOfCID(r.Context(), actor(r), c)
	if err != nil {
		return err
	}
	out := api.PinStatus{CID: c.String(), Status: "unpinned"}
	// Report the pinned record if any (the oldest, which says since when),
	// else the newest request's state.
	for _, p := range pins {
		if p.Status == store.StatusPinned {
			out = statusOf(p)
			break
		}
	}
	if !out.Pinned && len(pins) > 0 {
		out = statusOf(pins[len(pins)-1])
	}
	if len(pins) > 0 {
		if rep, ok := s.replicas(pins[0]); ok {
			out.Replicas = &rep
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// replicas is the Cluster's last report on p's CID; ok is false without
// a Cluster. A pin that is not pinned (here) has no copies counted.
func (s *Server) replicas(p store.Pin) (api.Replicas, bool) {
	reps := s.svc.Replications([]string{p.CID})
	if reps == nil {
		return api.Replicas{}, false
	}
	r := reps[p.CID]
	out := api.Replicas{Count: r.Pinned, Min: r.Min, Peers: r.Peers}
	if out.Peers == nil {
		out.Peers = []string{}
	}
	if !r.Checked.IsZero() {
		out.Checked = r.Checked.Format(timeFormat)
	}
	return out, true
}

func statusOf(p store.Pin) api.PinStatus {
	st := api.PinStatus{
		CID: p.CID, Pinned: p.Status == store.StatusPinned, Status: p.Status,
		Created: p.Created.Format(timeFormat), Name: p.Name, Description: p.Description,
		Metadata: p.Metadata, Size: pinSize(p), DagSize: p.DagSize, RequestID: p.ID, Reason: p.Reason,
	}
	if st.Pinned {
		since := p.Created
		if !p.Updated.IsZero() {
			since = p.Updated
		}
		st.PinnedSince = since.Format(timeFormat)
	}
	return st
}

// pinSize is a pin's size as the upload API shows it: the uploaded bytes,
// or for a pin by CID (which uploaded none) its DAG's.
func pinSize(p store.Pin) int64 {
	if p.Size > 0 {
		return p.Size
	}
	return p.DagSize
}

// handleUploadList lists the account's uploads, newest first, optionally
// within [from, to] (RFC 3339 or unix milliseconds) and paged with limit and
// before (the created time of the last item of the previous page).
func (s *Server) handleUploadList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, err := parseTimeParam("from", q.Get("from"))
	if err != nil {
		return err
	}
	to, err := parseTimeParam("to", q.Get("to"))
	if err != nil {
		return err
	}
	if len(q.Get("to")) == len(dayFormat) { // a bare date includes that whole day
		to = to.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}
	before, err := parseTimeParam("before", q.Get("before"))
	if err != nil {
		return err
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return errInvalid("limit must be between 1 and 1000")
		}
	}
	f := store.PinFilter{Limit: limit, Before: before}
	if !to.IsZero() && (f.Before.IsZero() || to.Before(f.Before)) {
		f.Before = to.Add(time.Nanosecond)
	}
	if !from.IsZero() {
		f.After = from.Add(-time.Nanosecond)
	}
	if name := q.Get("name"); name != "" {
		f.Name, f.Match = name, "ipartial"
	}
	if c := q.Get("cid"); c != "" {
		f.CIDs = []string{c}
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	pins, total, err := s.svc.ListPins(r.Context(), accountID, f)
	if err != nil {
		return err
	}
	out := api.UploadList{Count: total, Uploads: make([]api.UploadItem, len(pins))}
	for i, p := range pins {
		out.Uploads[i] = s.uploadItem(r, p)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseTimeParam accepts RFC 3339 (or a bare date) or unix milliseconds.
func parseTimeParam(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(dayFormat, v)
	if err != nil {
		return time.Time{}, errInvalid("%s must be an RFC 3339 time, a date or unix milliseconds", name)
	}
	return t, nil
}

// handleUnpin removes every pin the caller's account holds on a CID (and
// stops their fetches). The blocks stay until garbage collection finds no
// other pin referencing them.
func (s *Server) handleUnpin(w http.ResponseWriter, r *http.Request) error {
	c, err := pinning.ParseCID(r.PathValue("cid"))
	if err != nil {
		return err
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	n, err := s.svc.UnpinCID(r.Context(), accountID, c)
	if err != nil {
		return err
	}
	state(r).cid = c.String()
	writeJSON(w, http.StatusOK, api.Unpinned{Message: "Unpinned", Removed: n})
	return nil
}

// handlePinByCID is IPFS.NINJA's POST /pin {cid, description, metadata}:
// a pin-by-CID request answered 202 with the pin status of GET /pin/{cid}.
func (s *Server) handlePinByCID(w http.ResponseWriter, r *http.Request) error {
	var in api.PinByCIDRequest
	if err := decodeJSON(w, r, maxSmallBody, &in, false); err != nil {
		return err
	}
	meta, err := parseMetadata(in.Metadata)
	if err != nil {
		return err
	}
	rec, err := s.svc.PinByCID(r.Context(), actor(r), pinning.PinRequest{CID: in.CID, Name: in.Name,
		Description: in.Description, Metadata: meta, Origins: in.Origins})
	if err != nil {
		return err
	}
	state(r).cid = rec.CID
	writeJSON(w, http.StatusAccepted, statusOf(rec))
	return nil
}

// handleUploadGet is GET /uploads/{id}: one record of the upload list, by
// its id (pin ids are the request ids of the Pinning Service API too).
func (s *Server) handleUploadGet(w http.ResponseWriter, r *http.Request) error {
	p, err := s.svc.Pin(r.Context(), actor(r).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.uploadItem(r, p))
	return nil
}

// handleUploadUpdate is PATCH /uploads/{id} {name?, description?,
// metadata?}: a field present replaces the record's (metadata as a whole);
// an absent one is kept.
func (s *Server) handleUploadUpdate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name        *string         `json:"name"`
		Description *string         `json:"description"`
		Metadata    json.RawMessage `json:"metadata"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &in, false); err != nil {
		return err
	}
	meta, err := parseMetadata(in.Metadata)
	if err != nil {
		return err
	}
	if meta == nil && len(bytes.TrimSpace(in.Metadata)) > 0 && string(bytes.TrimSpace(in.Metadata)) != "null" {
		meta = map[string]string{} // {} clears it
	}
	p, err := s.svc.UpdatePin(r.Context(), actor(r).AccountID, r.PathValue("id"), in.Name, in.Description, meta)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.uploadItem(r, p))
	return nil
}

func (s *Server) uploadItem(r *http.Request, p store.Pin) api.UploadItem {
	res := s.result(r, p)
	res.Size = pinSize(p)
	return api.UploadItem{UploadResult: res, Description: p.Description,
		Metadata: p.Metadata, Status: p.Status, ID: p.ID, DagSize: p.DagSize, Prefix: p.Prefix}
}
