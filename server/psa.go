package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/store"
)

// The IPFS Pinning Service API v1.0.0 (shared/specs/ipfs-pinning-service.yaml)
// under /psa. Every pin record of the caller's account is a pin object:
// uploads appear as pinned pin objects, pin-by-CID requests as whatever
// state the Pinner has them in. Errors are the spec's Failure body.

// PSA limits, from the spec.
const (
	psaMaxName    = 255
	psaMaxOrigins = 20
	psaMaxCIDs    = 10
	psaMaxLimit   = 1000
	psaDefLimit   = 10
)

// psaPin is the spec's Pin object.
type psaPin struct {
	CID     string            `json:"cid"`
	Name    string            `json:"name,omitempty"`
	Origins []string          `json:"origins,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
}

// psaStatus is the spec's PinStatus object.
type psaStatus struct {
	RequestID string            `json:"requestid"`
	Status    string            `json:"status"`
	Created   string            `json:"created"`
	Pin       psaPin            `json:"pin"`
	Delegates []string          `json:"delegates"`
	Info      map[string]string `json:"info,omitempty"`
}

// psaResults is the spec's PinResults object.
type psaResults struct {
	Count   int         `json:"count"`
	Results []psaStatus `json:"results"`
}

// delegates are the multiaddrs clients should connect to for a direct
// transfer: this node's.
func (s *Server) delegates() []string {
	if s.node == nil {
		return []string{}
	}
	if a := s.node.Addrs(); len(a) > 0 {
		return a
	}
	return []string{}
}

func (s *Server) psaStatusOf(p store.Pin) psaStatus {
	st := psaStatus{
		RequestID: p.ID,
		Status:    p.Status,
		Created:   p.Created.Format(timeFormat),
		Pin:       psaPin{CID: p.CID, Name: p.Name, Origins: p.Origins, Meta: p.Metadata},
		Delegates: s.delegates(),
	}
	info := map[string]string{}
	if p.Status == store.StatusPinned && p.DagSize > 0 {
		info["dag_size"] = strconv.FormatInt(p.DagSize, 10)
	}
	if p.Reason != "" {
		info["status_details"] = p.Reason
	}
	if len(info) > 0 {
		st.Info = info
	}
	return st
}

// parsePSAPin reads and checks a Pin object body into a pin record
// (account and credential fields are the caller's to fill in).
func parsePSAPin(r *http.Request) (store.Pin, error) {
	var in struct {
		CID     string          `json:"cid"`
		Name    string          `json:"name"`
		Origins []string        `json:"origins"`
		Meta    json.RawMessage `json:"meta"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&in); err != nil {
		return store.Pin{}, badRequest("the body must be a Pin object: %v", err)
	}
	c, err := decodeCID(in.CID)
	if err != nil {
		return store.Pin{}, err
	}
	if len(in.Name) > psaMaxName {
		return store.Pin{}, badRequest("name is longer than %d characters", psaMaxName)
	}
	if len(in.Origins) > psaMaxOrigins {
		return store.Pin{}, badRequest("at most %d origins are allowed", psaMaxOrigins)
	}
	for _, o := range in.Origins {
		if !strings.HasPrefix(o, "/") {
			return store.Pin{}, badRequest("origin %q is not a multiaddr", o)
		}
	}
	meta, err := parseMetadata(in.Meta)
	if err != nil {
		return store.Pin{}, err
	}
	return store.Pin{CID: c.String(), Name: in.Name, Origins: in.Origins, Metadata: meta}, nil
}

// decodeCID parses a CID, answering 400 INVALID_CID for a bad one.
func decodeCID(v string) (cid.Cid, error) {
	if v == "" {
		return cid.Undef, apiErr(http.StatusBadRequest, "INVALID_CID", "cid is required")
	}
	c, err := cid.Decode(v)
	if err != nil {
		return cid.Undef, apiErr(http.StatusBadRequest, "INVALID_CID", "%q is not a valid CID", v)
	}
	return c, nil
}

// errNoPinner answers pin-by-CID requests on a server built without a
// Pinner (the CLI's in-process admin server).
var errNoPinner = apiErr(http.StatusServiceUnavailable, "UNAVAILABLE", "pinning by CID is not available on this server")

// submit records a pin-by-CID request for the caller's account.
func (s *Server) submit(r *http.Request, p store.Pin) (store.Pin, error) {
	if s.pinner == nil {
		return store.Pin{}, errNoPinner
	}
	g := grantOf(r)
	p.AccountID, p.KeyID, p.CredentialID, p.Prefix = g.AccountID, g.IssuerKeyID, g.CredentialID, g.Prefix
	state(r).cid = p.CID
	return s.pinner.Submit(r.Context(), p)
}

// handlePSAList is GET /psa/pins.
func (s *Server) handlePSAList(w http.ResponseWriter, r *http.Request) {
	f, err := parsePSAFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pins, total, err := s.store.ListPins(grantOf(r).AccountID, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := psaResults{Count: total, Results: make([]psaStatus, len(pins))}
	for i, p := range pins {
		out.Results[i] = s.psaStatusOf(p)
	}
	writeJSON(w, http.StatusOK, out)
}

// parsePSAFilter reads the spec's query parameters into a store filter.
func parsePSAFilter(r *http.Request) (store.PinFilter, error) {
	q := r.URL.Query()
	f := store.PinFilter{Limit: psaDefLimit, Status: []string{store.StatusPinned}}
	if v := q.Get("cid"); v != "" {
		parts := strings.Split(v, ",")
		if len(parts) > psaMaxCIDs {
			return f, badRequest("at most %d CIDs may be given", psaMaxCIDs)
		}
		for _, p := range parts {
			c, err := decodeCID(strings.TrimSpace(p))
			if err != nil {
				return f, err
			}
			f.CIDs = append(f.CIDs, c.String())
		}
	}
	if v := q.Get("name"); v != "" {
		if len(v) > psaMaxName {
			return f, badRequest("name is longer than %d characters", psaMaxName)
		}
		f.Name = v
	}
	switch m := q.Get("match"); m {
	case "", "exact", "iexact", "partial", "ipartial":
		f.Match = m
	default:
		return f, badRequest("match must be exact, iexact, partial or ipartial")
	}
	if v := q.Get("status"); v != "" {
		f.Status = nil
		for _, st := range strings.Split(v, ",") {
			switch st {
			case store.StatusQueued, store.StatusPinning, store.StatusPinned, store.StatusFailed:
				f.Status = append(f.Status, st)
			default:
				return f, badRequest("status %q is not one of queued, pinning, pinned, failed", st)
			}
		}
	}
	var err error
	if f.Before, err = psaTime(q.Get("before")); err != nil {
		return f, badRequest("before: %v", err)
	}
	if f.After, err = psaTime(q.Get("after")); err != nil {
		return f, badRequest("after: %v", err)
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > psaMaxLimit {
			return f, badRequest("limit must be an integer from 1 to %d", psaMaxLimit)
		}
	}
	if v := q.Get("meta"); v != "" {
		// Parsed as pins' metadata is, so {"n":1} finds a pin created
		// with {"n":1} (both hold the text "1").
		meta, err := parseMetadata(json.RawMessage(v))
		if err != nil {
			return f, badRequest("meta must be a JSON object of strings, numbers or booleans")
		}
		f.Meta = meta
	}
	return f, nil
}

func psaTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, v)
}

// handlePSAAdd is POST /psa/pins.
func (s *Server) handlePSAAdd(w http.ResponseWriter, r *http.Request) {
	p, err := parsePSAPin(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rec, err := s.submit(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.psaStatusOf(rec))
}

// handlePSAGet is GET /psa/pins/{requestid}.
func (s *Server) handlePSAGet(w http.ResponseWriter, r *http.Request) {
	p, err := s.store.Pin(grantOf(r).AccountID, r.PathValue("requestid"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.psaStatusOf(p))
}

// handlePSAReplace is POST /psa/pins/{requestid}: the new request is
// recorded before the old one is deleted, so blocks both share are live
// throughout and no GC can drop them in between.
func (s *Server) handlePSAReplace(w http.ResponseWriter, r *http.Request) {
	g := grantOf(r)
	id := r.PathValue("requestid")
	if _, err := s.store.Pin(g.AccountID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := parsePSAPin(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rec, err := s.submit(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.deleteRequest(g.AccountID, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.psaStatusOf(rec))
}

// handlePSADelete is DELETE /psa/pins/{requestid}: 202 with no body.
func (s *Server) handlePSADelete(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteRequest(grantOf(r).AccountID, r.PathValue("requestid")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// deleteRequest removes one of the account's pin records and stops its
// fetch if one runs. The blocks stay until GC finds no pin referencing them.
func (s *Server) deleteRequest(accountID, id string) error {
	p, err := s.store.DeletePin(accountID, id)
	if err != nil {
		return err
	}
	if s.pinner != nil {
		s.pinner.Cancel(p.ID)
	}
	return nil
}

// handlePinByCID is IPFS.NINJA's POST /pin {cid, description, metadata}:
// a pin-by-CID request answered 202 with the pin status of GET /pin/{cid}.
func (s *Server) handlePinByCID(w http.ResponseWriter, r *http.Request) {
	var in struct {
		CID         string          `json:"cid"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Metadata    json.RawMessage `json:"metadata"`
		Origins     []string        `json:"origins"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&in); err != nil {
		s.writeError(w, r, badRequest("the body must be a JSON object: %v", err))
		return
	}
	c, err := decodeCID(in.CID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	meta, err := parseMetadata(in.Metadata)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(in.Name) > psaMaxName || len(in.Origins) > psaMaxOrigins {
		s.writeError(w, r, badRequest("name is limited to %d characters and origins to %d", psaMaxName, psaMaxOrigins))
		return
	}
	rec, err := s.submit(r, store.Pin{CID: c.String(), Name: in.Name, Description: in.Description, Metadata: meta, Origins: in.Origins})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, statusOf(rec))
}
