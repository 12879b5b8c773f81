package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Quotas per account, set by the operator: GET and PUT
// /admin/accounts/{account}/quota (scope admin, and the admin socket).

func viewQuota(q store.Quota) api.Quota {
	return api.Quota{MaxStoredBytes: q.MaxStoredBytes, MaxPins: q.MaxPins, MaxQueued: q.MaxQueued, MaxFetchBytes: q.MaxFetchBytes}
}

func (s *Server) accountQuota(r *http.Request, name string) (api.AccountQuota, error) {
	a, err := s.svc.Account(r.Context(), principal(r), name)
	if err != nil {
		return api.AccountQuota{}, err
	}
	eff, over, err := s.svc.Quota(r.Context(), a.ID)
	if err != nil {
		return api.AccountQuota{}, err
	}
	u, err := s.svc.Usage(r.Context(), a.ID)
	if err != nil {
		return api.AccountQuota{}, err
	}
	return api.AccountQuota{Account: viewAccount(a), Effective: viewQuota(eff), Override: viewQuota(over),
		Usage: api.Storage{Pins: u.Pinned, Bytes: u.StoredBytes, Records: u.Pins, Queued: u.Queued, PartialBytes: u.PartialBytes}}, nil
}

func (s *Server) handleQuotaGet(w http.ResponseWriter, r *http.Request) error {
	q, err := s.accountQuota(r, r.PathValue("account"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, q)
	return nil
}

func (s *Server) handleQuotaSet(w http.ResponseWriter, r *http.Request) error {
	var req api.QuotaRequest
	if err := decodeJSON(w, r, 1<<16, &req, false); err != nil {
		return err
	}
	a, err := s.svc.Account(r.Context(), principal(r), r.PathValue("account"))
	if err != nil {
		return err
	}
	_, q, err := s.svc.Quota(r.Context(), a.ID)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name  string
		raw   json.RawMessage
		dst   *int64
		bytes bool
	}{
		{"maxStoredBytes", req.MaxStoredBytes, &q.MaxStoredBytes, true},
		{"maxPins", req.MaxPins, &q.MaxPins, false},
		{"maxQueued", req.MaxQueued, &q.MaxQueued, false},
		{"maxFetchBytes", req.MaxFetchBytes, &q.MaxFetchBytes, true},
	} {
		if f.raw == nil {
			continue
		}
		if *f.dst, err = parseQuotaValue(f.name, f.raw, f.bytes); err != nil {
			return err
		}
	}
	if err := s.svc.SetQuota(r.Context(), a.ID, q); err != nil {
		return err
	}
	out, err := s.accountQuota(r, a.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseQuotaValue reads one quota field: a whole number, "default" (0),
// "unlimited" (-1), or for byte fields a size string ("10GiB").
func parseQuotaValue(name string, raw json.RawMessage, isBytes bool) (int64, error) {
	raw = bytes.TrimSpace(raw)
	var str string
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, errInvalid("%s is not a valid string", name)
		}
	} else {
		str = string(raw)
	}
	switch strings.ToLower(strings.TrimSpace(str)) {
	case "default", "0", "null":
		return 0, nil
	case "unlimited", "-1":
		return -1, nil
	}
	if n, err := strconv.ParseInt(str, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	if isBytes {
		if n, err := token.ParseSize(str); err == nil {
			return n, nil
		}
	}
	what := "a positive whole number"
	if isBytes {
		what = "a number of bytes or a size like \"10GiB\""
	}
	return 0, errInvalid("%s must be %s, \"default\" or \"unlimited\"", name, what)
}
