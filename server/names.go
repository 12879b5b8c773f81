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

// IPNS names (pinning/names.go): create, list, get, delete with scope
// names; publish with scope names or with a credential bound to the one
// name (an upload token or access JWT minted with publishName), so a
// browser can upload a new version and move the name without the API key.

func (s *Server) viewName(r *http.Request, n store.Name) api.Name {
	v := api.Name{
		Name: n.Label, IPNSName: n.Name, Path: "/ipns/" + n.Name, External: len(n.Key) == 0,
		CreatedAt: n.Created.Format(timeFormat), URL: s.nameURL(r, n.Name),
	}
	if len(n.Record) > 0 {
		v.Value, v.Sequence = n.Value, n.Sequence
		v.Validity = n.Validity.Format(time.RFC3339)
		v.TTL = int64(time.Duration(n.TTL) / time.Second)
		v.Published = n.Published.Format(timeFormat)
	}
	return v
}

// nameURL is where the gateway serves a name: {name}.ipns.{domain} with
// gateway domains, else the path form.
func (s *Server) nameURL(r *http.Request, name string) string {
	if len(s.cfg.GatewayDomains) > 0 {
		scheme := "http"
		if s.cfg.HTTPS || strings.HasPrefix(s.cfg.PublicURL, "https://") || r.TLS != nil || s.proxiedHTTPS(r) {
			scheme = "https"
		}
		return scheme + "://" + name + ".ipns." + s.cfg.GatewayDomains[0] + "/"
	}
	return strings.TrimSuffix(s.gatewayURL(r, ""), "/ipfs/") + "/ipns/" + name
}

func (s *Server) handleNameCreate(w http.ResponseWriter, r *http.Request) error {
	var req api.NameRequest
	if err := decodeJSON(w, r, 1<<12, &req, false); err != nil {
		return err
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	n, err := s.svc.CreateName(r.Context(), accountID, req.Name, req.IPNSName)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.viewName(r, n))
	return nil
}

func (s *Server) handleNameList(w http.ResponseWriter, r *http.Request) error {
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	names, next, err := s.svc.Names(r.Context(), accountID, page)
	if err != nil {
		return err
	}
	setNext(w, r, next)
	out := make([]api.Name, len(names))
	for i, n := range names {
		out[i] = s.viewName(r, n)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleNameGet(w http.ResponseWriter, r *http.Request) error {
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	n, err := s.svc.Name(r.Context(), accountID, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewName(r, n))
	return nil
}

func (s *Server) handleNameDelete(w http.ResponseWriter, r *http.Request) error {
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	n, err := s.svc.DeleteName(r.Context(), accountID, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewName(r, n))
	return nil
}

// handleNamePublish serves POST /names/{name}: sign a record pointing the
// name at the value and make it current. The route lets scope names or
// upload through; the domain then checks the grant (token.Grant.CheckPublish).
func (s *Server) handleNamePublish(w http.ResponseWriter, r *http.Request) error {
	var req api.PublishRequest
	if err := decodeJSON(w, r, 1<<12, &req, false); err != nil {
		return err
	}
	spec := pinning.PublishSpec{Value: req.Value, Sequence: req.Sequence}
	if strings.TrimSpace(req.Value) == "" {
		return errInvalid("value is required: /ipfs/{cid}[/path] or a CID")
	}
	var err error
	if spec.Lifetime, err = parseSeconds("lifetime", req.Lifetime); err != nil {
		return err
	}
	if spec.TTL, err = parseSeconds("ttl", req.TTL); err != nil {
		return err
	}
	if _, err := s.account(r); err != nil {
		return err
	}
	n, err := s.svc.Publish(r.Context(), actor(r).Grant, r.PathValue("name"), spec)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewName(r, n))
	return nil
}

// parseSeconds reads a duration field: a JSON number of seconds or a
// string, a number of seconds or a Go duration ("48h"); absent is 0.
func parseSeconds(field string, raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, errInvalid("%s must be a number of seconds or a duration string", field)
	}
	switch x := v.(type) {
	case float64:
		if x <= 0 || x > float64(1<<40) {
			return 0, errInvalid("%s must be a positive number of seconds", field)
		}
		return time.Duration(x * float64(time.Second)), nil
	case string:
		if n, err := strconv.ParseFloat(x, 64); err == nil && n > 0 && n < float64(1<<40) {
			return time.Duration(n * float64(time.Second)), nil
		}
		d, err := time.ParseDuration(x)
		if err != nil || d <= 0 {
			return 0, errInvalid("%s %q is not a positive duration (\"48h\", or seconds)", field, x)
		}
		return d, nil
	}
	return 0, errInvalid("%s must be a number of seconds or a duration string", field)
}
