package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// timeFormat is how times appear in JSON responses.
const timeFormat = time.RFC3339Nano

// pinStatus is the answer of GET /pins/{cid} and GET /pin/{cid}.
type pinStatus struct {
	CID         string            `json:"cid"`
	Pinned      bool              `json:"pinned"`
	Status      string            `json:"status"`
	Created     string            `json:"created,omitempty"`
	PinnedSince string            `json:"pinnedSince,omitempty"`
	Name        string            `json:"name,omitempty"`
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Size        int64             `json:"size,omitempty"`
	RequestID   string            `json:"requestId,omitempty"`
	Reason      string            `json:"reason,omitempty"`
}

// handlePinStatus reports whether, and since when, a CID is pinned by the
// caller's account. An upload token only sees the pins it made itself.
func (s *Server) handlePinStatus(w http.ResponseWriter, r *http.Request) {
	c, err := decodeCID(r.PathValue("cid"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g := grantOf(r)
	pins, err := s.store.PinsByCID(g.AccountID, c.String())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !g.Allows(token.ScopePinsRead) {
		own := pins[:0]
		for _, p := range pins {
			if p.CredentialID == g.CredentialID {
				own = append(own, p)
			}
		}
		pins = own
	}
	out := pinStatus{CID: c.String(), Status: "unpinned"}
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
	writeJSON(w, http.StatusOK, out)
}

func statusOf(p store.Pin) pinStatus {
	st := pinStatus{
		CID: p.CID, Pinned: p.Status == store.StatusPinned, Status: p.Status,
		Created: p.Created.Format(timeFormat), Name: p.Name, Description: p.Description,
		Metadata: p.Metadata, Size: p.Size, RequestID: p.ID, Reason: p.Reason,
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

// uploadItem is one entry of GET /upload/list.
type uploadItem struct {
	uploadResult
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Status      string            `json:"status"`
	ID          string            `json:"id"`
	Prefix      string            `json:"API_KEY_PREFIX,omitempty"`
}

// handleUploadList lists the account's uploads, newest first, optionally
// within [from, to] (RFC 3339 or unix milliseconds) and paged with limit and
// before (the created time of the last item of the previous page).
func (s *Server) handleUploadList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err := parseTimeParam(q.Get("from"))
	if err != nil {
		s.writeError(w, r, badRequest("from: %v", err))
		return
	}
	to, err := parseTimeParam(q.Get("to"))
	if err != nil {
		s.writeError(w, r, badRequest("to: %v", err))
		return
	}
	if len(q.Get("to")) == len(dayFormat) { // a bare date includes that whole day
		to = to.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}
	before, err := parseTimeParam(q.Get("before"))
	if err != nil {
		s.writeError(w, r, badRequest("before: %v", err))
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			s.writeError(w, r, badRequest("limit must be between 1 and 1000"))
			return
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
	g := grantOf(r)
	pins, total, err := s.store.ListPins(g.AccountID, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]uploadItem, len(pins))
	for i, p := range pins {
		items[i] = uploadItem{uploadResult: s.result(r, p), Description: p.Description,
			Metadata: p.Metadata, Status: p.Status, ID: p.ID, Prefix: p.Prefix}
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": total, "uploads": items})
}

// parseTimeParam accepts RFC 3339 (or a bare date) or unix milliseconds.
func parseTimeParam(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", v)
}

// handleUnpin removes every pin the caller's account holds on a CID. The
// blocks stay until garbage collection finds no other pin referencing them.
func (s *Server) handleUnpin(w http.ResponseWriter, r *http.Request) {
	c, err := decodeCID(r.PathValue("cid"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g := grantOf(r)
	pins, err := s.store.PinsByCID(g.AccountID, c.String())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(pins) == 0 {
		s.writeError(w, r, apiErr(http.StatusNotFound, "NOT_FOUND", "%s is not pinned by this account", c))
		return
	}
	for _, p := range pins {
		if _, err := s.store.DeletePin(g.AccountID, p.ID); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	state(r).cid = c.String()
	writeJSON(w, http.StatusOK, map[string]any{"message": "Unpinned", "removed": len(pins)})
}
