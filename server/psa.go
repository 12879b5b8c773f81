package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
)

// The IPFS Pinning Service API v1.0.0 (testdata/psa/ipfs-pinning-service.yaml)
// under /psa. Every pin record of the caller's account is a pin object:
// uploads appear as pinned pin objects, pin-by-CID requests as whatever
// state the queue has them in. Errors are the spec's Failure body.

// PSA limits, from the spec.
const (
	psaMaxCIDs  = 10
	psaMaxLimit = 1000
	psaDefLimit = 10
)

// delegates are the multiaddrs clients should connect to for a direct
// transfer: this node's.
func (s *Server) delegates() []string {
	if a := s.svc.NodeInfo().Addrs; len(a) > 0 {
		return a
	}
	return []string{}
}

func (s *Server) psaStatusOf(p store.Pin) api.PSAStatus {
	st := api.PSAStatus{
		RequestID: p.ID,
		Status:    p.Status,
		Created:   p.Created.Format(timeFormat),
		Pin:       api.PSAPin{CID: p.CID, Name: p.Name, Origins: p.Origins, Meta: p.Metadata},
		Delegates: s.delegates(),
	}
	info := map[string]string{}
	if p.Status == store.StatusPinned && p.DagSize > 0 {
		info["dag_size"] = strconv.FormatInt(p.DagSize, 10)
	}
	if p.Reason != "" {
		info["status_details"] = p.Reason
	}
	// The spec's info values are strings: the Cluster's copies as a
	// count and the peers holding them, comma-separated.
	if rep, ok := s.replicas(p); ok {
		info["replicas"] = strconv.Itoa(rep.Count)
		info["replica_peers"] = truncate(strings.Join(rep.Peers, ","), 255)
	}
	if len(info) > 0 {
		st.Info = info
	}
	return st
}

// decodePSAPin reads a Pin object body into a pin request.
func decodePSAPin(w http.ResponseWriter, r *http.Request) (pinning.PinRequest, error) {
	var in struct {
		CID     string          `json:"cid"`
		Name    string          `json:"name"`
		Origins []string        `json:"origins"`
		Meta    json.RawMessage `json:"meta"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &in, false); err != nil {
		return pinning.PinRequest{}, err
	}
	meta, err := parseMetadata(in.Meta)
	if err != nil {
		return pinning.PinRequest{}, err
	}
	return pinning.PinRequest{CID: in.CID, Name: in.Name, Origins: in.Origins, Metadata: meta}, nil
}

// handlePSAList is GET /psa/pins.
func (s *Server) handlePSAList(w http.ResponseWriter, r *http.Request) error {
	f, err := parsePSAFilter(r)
	if err != nil {
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
	out := api.PSAResults{Count: total, Results: make([]api.PSAStatus, len(pins))}
	for i, p := range pins {
		out.Results[i] = s.psaStatusOf(p)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parsePSAFilter reads the spec's query parameters into a store filter.
func parsePSAFilter(r *http.Request) (store.PinFilter, error) {
	q := r.URL.Query()
	f := store.PinFilter{Limit: psaDefLimit, Status: []string{store.StatusPinned}}
	if v := q.Get("cid"); v != "" {
		parts := strings.Split(v, ",")
		if len(parts) > psaMaxCIDs {
			return f, errInvalid("at most %d CIDs may be given", psaMaxCIDs)
		}
		for _, p := range parts {
			c, err := pinning.ParseCID(strings.TrimSpace(p))
			if err != nil {
				return f, err
			}
			f.CIDs = append(f.CIDs, c.String())
		}
	}
	if v := q.Get("name"); v != "" {
		if len(v) > pinning.MaxNameLen {
			return f, errInvalid("name is longer than %d characters", pinning.MaxNameLen)
		}
		f.Name = v
	}
	switch m := q.Get("match"); m {
	case "", "exact", "iexact", "partial", "ipartial":
		f.Match = m
	default:
		return f, errInvalid("match must be exact, iexact, partial or ipartial")
	}
	if v := q.Get("status"); v != "" {
		f.Status = nil
		for _, st := range strings.Split(v, ",") {
			switch st {
			case store.StatusQueued, store.StatusPinning, store.StatusPinned, store.StatusFailed:
				f.Status = append(f.Status, st)
			default:
				return f, errInvalid("status %q is not one of queued, pinning, pinned, failed", st)
			}
		}
	}
	var err error
	if f.Before, err = psaTime("before", q.Get("before")); err != nil {
		return f, err
	}
	if f.After, err = psaTime("after", q.Get("after")); err != nil {
		return f, err
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > psaMaxLimit {
			return f, errInvalid("limit must be an integer from 1 to %d", psaMaxLimit)
		}
	}
	if v := q.Get("meta"); v != "" {
		// Parsed as pins' metadata is, so {"n":1} finds a pin created
		// with {"n":1} (both hold the text "1").
		meta, err := parseMetadata(json.RawMessage(v))
		if err != nil {
			return f, errInvalid("meta must be a JSON object of strings, numbers or booleans")
		}
		f.Meta = meta
	}
	return f, nil
}

func psaTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errInvalid("%s must be an RFC 3339 time", name)
	}
	return t, nil
}

// handlePSAAdd is POST /psa/pins.
func (s *Server) handlePSAAdd(w http.ResponseWriter, r *http.Request) error {
	req, err := decodePSAPin(w, r)
	if err != nil {
		return err
	}
	rec, err := s.svc.PinByCID(r.Context(), actor(r), req)
	if err != nil {
		return err
	}
	state(r).cid = rec.CID
	writeJSON(w, http.StatusAccepted, s.psaStatusOf(rec))
	return nil
}

// handlePSAGet is GET /psa/pins/{requestid}.
func (s *Server) handlePSAGet(w http.ResponseWriter, r *http.Request) error {
	p, err := s.svc.Pin(r.Context(), actor(r).AccountID, r.PathValue("requestid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.psaStatusOf(p))
	return nil
}

// handlePSAReplace is POST /psa/pins/{requestid}.
func (s *Server) handlePSAReplace(w http.ResponseWriter, r *http.Request) error {
	req, err := decodePSAPin(w, r)
	if err != nil {
		return err
	}
	rec, err := s.svc.ReplacePin(r.Context(), actor(r), r.PathValue("requestid"), req)
	if err != nil {
		return err
	}
	state(r).cid = rec.CID
	writeJSON(w, http.StatusAccepted, s.psaStatusOf(rec))
	return nil
}

// handlePSADelete is DELETE /psa/pins/{requestid}: 202 with no body.
func (s *Server) handlePSADelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeletePin(r.Context(), actor(r).AccountID, r.PathValue("requestid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// truncate cuts s to at most n bytes (the spec's limit on an info value).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
