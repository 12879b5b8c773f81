package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
)

// The legacy API's lists: GET /data/pinList (pins) and GET
// /pinning/pinJobs (pin-by-CID requests not pinned yet).

// parsePinListFilter reads GET /data/pinList's query. ninja keeps no
// record of unpinned pins, so status=unpinned (or an unpin date) matches
// nothing (none), and status=all is the pinned pins. Filters ninja cannot
// answer exactly are refused, naming them.
func parsePinListFilter(q url.Values) (f store.PinFilter, none bool, err error) {
	f.Status = []string{store.StatusPinned}
	switch q.Get("status") {
	case "", "all", "pinned":
	case "unpinned":
		none = true
	default:
		return f, false, errInvalid("status must be all, pinned or unpinned")
	}
	if q.Get("unpinStart") != "" || q.Get("unpinEnd") != "" {
		none = true
	}
	for _, name := range []string{"pinSizeMin", "pinSizeMax"} {
		if q.Get(name) != "" {
			return f, false, errInvalid("%s is not supported by ninja", name)
		}
	}
	if v := q.Get("hashContains"); v != "" {
		c, err := pinning.ParseCID(v)
		if err != nil {
			return f, false, errInvalid("hashContains must be a whole CID: ninja matches CIDs exactly")
		}
		f.CIDs = []string{c.String()}
	}
	start, err := legacyTime("pinStart", q.Get("pinStart"))
	if err != nil {
		return f, false, err
	}
	end, err := legacyTime("pinEnd", q.Get("pinEnd"))
	if err != nil {
		return f, false, err
	}
	if !start.IsZero() { // both ends inclusive
		f.After = start.Add(-time.Nanosecond)
	}
	if !end.IsZero() {
		f.Before = end.Add(time.Nanosecond)
	}
	if err := legacyPage(q, "pageLimit", "pageOffset", &f); err != nil {
		return f, false, err
	}
	if v := q.Get("metadata[name]"); v != "" {
		f.Name, f.Match = v, "ipartial"
	}
	if v := q.Get("metadata[keyvalues]"); v != "" {
		if f.Meta, err = keyvaluesFilter(v); err != nil {
			return f, false, err
		}
	}
	return f, none, nil
}

// keyvaluesFilter reads metadata[keyvalues]: {"key":{"value":…,"op":"eq"}}.
// Only eq is answered (by the metadata index); other ops are refused.
func keyvaluesFilter(v string) (map[string]string, error) {
	var in map[string]struct {
		Value json.RawMessage `json:"value"`
		Op    string          `json:"op"`
	}
	if err := json.Unmarshal([]byte(v), &in); err != nil {
		return nil, errInvalid(`metadata[keyvalues] must be a JSON object like {"key":{"value":"x","op":"eq"}}`)
	}
	raw := map[string]json.RawMessage{}
	for k, c := range in {
		if c.Op != "eq" {
			return nil, errInvalid("metadata[keyvalues] op %q is not supported by ninja: only eq", c.Op)
		}
		raw[k] = c.Value
	}
	b, _ := json.Marshal(raw)
	return parseMetadata(b)
}

func legacyRow(p store.Pin) api.PinataPinRow {
	row := api.PinataPinRow{ID: p.ID, IpfsPinHash: p.CID, Size: legacyResult(p).PinSize, UserID: p.AccountID,
		DatePinned: p.Created.Format(timeFormat), Regions: []any{}, MimeType: p.MimeType, NumberOfFiles: max(p.Files, 1),
		Metadata: api.PinataRowMetadata{Keyvalues: p.Metadata}}
	if p.Name != "" {
		row.Metadata.Name = &p.Name
	}
	if row.Metadata.Keyvalues == nil {
		row.Metadata.Keyvalues = map[string]string{}
	}
	return row
}

// handleLegacyPinList is GET /data/pinList: a page of the account's pins,
// newest first, with the total that match.
func (s *Server) handleLegacyPinList(w http.ResponseWriter, r *http.Request) error {
	f, none, err := parsePinListFilter(r.URL.Query())
	if err != nil {
		return err
	}
	out := api.PinataPinList{Rows: []api.PinataPinRow{}}
	if none {
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	pins, total, err := s.svc.ListPins(r.Context(), accountID, f)
	if err != nil {
		return err
	}
	out.Count = total
	for _, p := range pins {
		row := legacyRow(p)
		if rep, ok := s.replicas(p); ok {
			row.Regions = []any{api.PinataRegion{RegionID: "ninja-cluster", CurrentReplicationCount: rep.Count, DesiredReplicationCount: rep.Min}}
		}
		out.Rows = append(out.Rows, row)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleLegacyPinJobs is GET /pinning/pinJobs: the account's pin-by-CID
// requests not pinned yet, oldest first (sort=DESC newest first), with
// status, ipfs_pin_hash, limit and offset.
func (s *Server) handleLegacyPinJobs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.PinFilter{Ascending: true}
	var err error
	if f.Status, err = jobStatuses(q.Get("status")); err != nil {
		return err
	}
	switch strings.ToUpper(q.Get("sort")) {
	case "", "ASC":
	case "DESC":
		f.Ascending = false
	default:
		return errInvalid("sort must be ASC or DESC")
	}
	if v := q.Get("ipfs_pin_hash"); v != "" {
		c, err := pinning.ParseCID(v)
		if err != nil {
			return err
		}
		f.CIDs = []string{c.String()}
	}
	if err := legacyPage(q, "limit", "offset", &f); err != nil {
		return err
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	pins, total, err := s.svc.ListPins(r.Context(), accountID, f)
	if err != nil {
		return err
	}
	out := api.PinataJobRows{Count: total, Rows: make([]api.PinataJobRow, len(pins))}
	for i, p := range pins {
		j := pinataJob(p, "")
		out.Rows[i] = api.PinataJobRow{ID: j.ID, IpfsPinHash: j.CID, DateQueued: j.DateQueued, Name: j.Name,
			Status: j.Status, Keyvalues: j.Keyvalues, HostNodes: j.HostNodes}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
