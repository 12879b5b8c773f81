package server

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// MintAPIKey creates an API key for an account and returns its secret,
// which exists nowhere else afterwards: only its keyed hash is stored.
func MintAPIKey(st Store, h *token.Hasher, accountID, name string, scopes []token.Scope) (string, store.APIKey, error) {
	if len(scopes) == 0 {
		return "", store.APIKey{}, badRequest("a key needs at least one scope")
	}
	secret, err := token.NewOpaque(token.KindAPIKey, rand.Reader)
	if err != nil {
		return "", store.APIKey{}, fmt.Errorf("mint api key: %w", err)
	}
	sum := h.Sum(secret)
	names := make([]string, len(scopes))
	for i, sc := range scopes {
		names[i] = string(sc)
	}
	k, err := st.CreateAPIKey(store.APIKey{
		AccountID: accountID,
		Name:      name,
		Prefix:    token.DisplayPrefix(secret),
		Scopes:    names,
		Hash:      sum[:],
	})
	if err != nil {
		return "", store.APIKey{}, err
	}
	return secret, k, nil
}

// targetAccount is the account a request acts on: the caller's own, or
// (on the socket) the first account. The "account" query parameter (id or
// name) selects another one, but only for the operator: the socket or a
// key with scope admin. Anyone else naming an account not their own gets
// 403, so one account never sees another's records.
func (s *Server) targetAccount(r *http.Request) (store.Account, error) {
	if v := r.URL.Query().Get("account"); v != "" {
		a, err := s.store.Account(v)
		if err != nil {
			return store.Account{}, err
		}
		g := grantOf(r)
		if state(r).socket || g.Allows(token.ScopeAdmin) || a.ID == g.AccountID {
			return a, nil
		}
		return store.Account{}, apiErr(http.StatusForbidden, "FORBIDDEN", "only the operator (scope admin) may act on another account")
	}
	if g := grantOf(r); g.AccountID != "" {
		return s.store.Account(g.AccountID)
	}
	all, err := s.store.Accounts()
	if err != nil {
		return store.Account{}, err
	}
	if len(all) == 0 {
		return store.Account{}, fmt.Errorf("no account: %w", store.ErrNotFound)
	}
	return all[0], nil
}

func (s *Server) handleAccountList(w http.ResponseWriter, r *http.Request) {
	all, err := s.store.Accounts()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if all == nil {
		all = []store.Account{}
	}
	writeJSON(w, http.StatusOK, all)
}

func (s *Server) handleAccountCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		s.writeError(w, r, badJSON(err))
		return
	}
	if req.Name == "" {
		s.writeError(w, r, badRequest("name is required"))
		return
	}
	a, err := s.store.CreateAccount(req.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

// keyView is an API key as listed: never its secret or hash.
type keyView struct {
	ID        string   `json:"id"`
	AccountID string   `json:"accountId"`
	Name      string   `json:"name"`
	Prefix    string   `json:"prefix"`
	Scopes    []string `json:"scopes"`
	Created   string   `json:"created"`
	Revoked   bool     `json:"revoked"`
	RevokedAt string   `json:"revokedAt,omitempty"`
	Key       string   `json:"key,omitempty"` // only in the create response
}

func viewKey(k store.APIKey) keyView {
	v := keyView{ID: k.ID, AccountID: k.AccountID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes,
		Created: k.Created.Format(timeFormat), Revoked: k.Revoked()}
	if k.Revoked() {
		v.RevokedAt = k.RevokedAt.Format(timeFormat)
	}
	return v
}

func (s *Server) handleKeyList(w http.ResponseWriter, r *http.Request) {
	a, err := s.targetAccount(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	keys, err := s.store.APIKeys(a.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]keyView, len(keys))
	for i, k := range keys {
		out[i] = viewKey(k)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleKeyCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		s.writeError(w, r, badJSON(err))
		return
	}
	if req.Name == "" {
		s.writeError(w, r, badRequest("name is required"))
		return
	}
	if len(req.Scopes) == 0 {
		req.Scopes = []string{string(token.ScopeUpload), string(token.ScopePinsRead), string(token.ScopePinsWrite),
			string(token.ScopeTokensWrite), string(token.ScopeAnalyticsRead)}
	}
	scopes, err := token.ParseScopes(req.Scopes)
	if err != nil {
		s.writeError(w, r, badRequest("%v", err))
		return
	}
	a, err := s.targetAccount(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	secret, k, err := MintAPIKey(s.store, s.hasher, a.ID, req.Name, scopes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := viewKey(k)
	v.Key = secret
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) handleKeyRevoke(w http.ResponseWriter, r *http.Request) {
	// The operator (socket, or an admin key) may revoke any account's key.
	k, err := s.store.RevokeAPIKey("", r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Key revoked", "key": viewKey(k)})
}

// status describes the node for the operator.
type status struct {
	Version string   `json:"version"`
	PeerID  string   `json:"peerId"`
	Addrs   []string `json:"addrs"`
	Peers   int      `json:"peers"`
	Storage storage  `json:"storage"`
}

// storage is what the account has pinned.
type storage struct {
	Pins  int64 `json:"pins"`
	Bytes int64 `json:"bytes"`
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st := status{Version: s.cfg.Version, Addrs: []string{}}
	if s.node != nil { // nil when the CLI serves the admin API over a stopped server's database
		st.PeerID, st.Addrs, st.Peers = s.node.PeerID(), s.node.Addrs(), len(s.node.Peers())
	}
	a, err := s.targetAccount(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pins, _, err := s.store.ListPins(a.ID, store.PinFilter{Status: []string{store.StatusPinned}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, p := range pins {
		st.Storage.Pins++
		st.Storage.Bytes += p.Size
	}
	writeJSON(w, http.StatusOK, st)
}
