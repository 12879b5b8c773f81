package server

import (
	"net/http"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

func viewAccount(a store.Account) api.Account {
	return api.Account{ID: a.ID, Name: a.Name, Created: a.Created.Format(timeFormat)}
}

func (s *Server) handleAccountList(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	all, next, err := s.svc.ListAccounts(r.Context(), page)
	if err != nil {
		return err
	}
	setNext(w, r, next)
	out := make([]api.Account, len(all))
	for i, a := range all {
		out[i] = viewAccount(a)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleAccountCreate(w http.ResponseWriter, r *http.Request) error {
	var req api.AccountRequest
	if err := decodeJSON(w, r, 1<<16, &req, false); err != nil {
		return err
	}
	a, err := s.svc.CreateAccount(r.Context(), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, viewAccount(a))
	return nil
}

func viewKey(k store.APIKey) api.Key {
	v := api.Key{ID: k.ID, AccountID: k.AccountID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes,
		Created: k.Created.Format(timeFormat), Revoked: k.Revoked()}
	if k.Revoked() {
		v.RevokedAt = k.RevokedAt.Format(timeFormat)
	}
	return v
}

func (s *Server) handleKeyList(w http.ResponseWriter, r *http.Request) error {
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	keys, next, err := s.svc.APIKeys(r.Context(), accountID, page)
	if err != nil {
		return err
	}
	setNext(w, r, next)
	out := make([]api.Key, len(keys))
	for i, k := range keys {
		out[i] = viewKey(k)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleKeyCreate(w http.ResponseWriter, r *http.Request) error {
	var req api.KeyRequest
	if err := decodeJSON(w, r, 1<<16, &req, false); err != nil {
		return err
	}
	scopes := pinning.DefaultKeyScopes()
	if req.Scopes != nil {
		if len(*req.Scopes) == 0 {
			return errInvalid("scopes is empty: name at least one scope, or leave it out for the default (all but admin)")
		}
		var err error
		if scopes, err = token.ParseScopes(*req.Scopes); err != nil {
			return err
		}
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	secret, k, err := s.svc.CreateAPIKey(r.Context(), accountID, req.Name, scopes)
	if err != nil {
		return err
	}
	v := viewKey(k)
	v.Key = secret
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) handleKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	// The operator (socket, or an admin key) may revoke any account's key.
	k, err := s.svc.RevokeAPIKey(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.KeyRevoked{Message: "Key revoked", Key: viewKey(k)})
	return nil
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) error {
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	ni := s.svc.NodeInfo()
	st := api.Status{Version: s.cfg.Version, PeerID: ni.PeerID, Addrs: ni.Addrs, Peers: ni.Peers}
	if st.Addrs == nil {
		st.Addrs = []string{}
	}
	u, err := s.svc.Usage(r.Context(), accountID)
	if err != nil {
		return err
	}
	st.Storage = api.Storage{Pins: u.Pinned, Bytes: u.StoredBytes, Records: u.Pins, Queued: u.Queued, PartialBytes: u.PartialBytes}
	st.Queue.Queued, st.Queue.Running = s.svc.QueueStats()
	writeJSON(w, http.StatusOK, st)
	return nil
}

// handleGC is POST /admin/gc.
func (s *Server) handleGC(w http.ResponseWriter, r *http.Request) error {
	res, err := s.svc.CollectGarbage(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.GCResult{Blocks: res.Blocks, Bytes: res.Bytes, Roots: res.Roots,
		DurationMS: float64(res.Duration.Microseconds()) / 1000})
	return nil
}

// handleExport is GET /admin/export/{cid}: the DAG under cid as a CARv1
// from local blocks, for `ninja export` over the admin socket (over HTTP the
// gateway's ?format=car serves the same). An export that fails before its
// first byte gets an error answer; one that fails midway is cut off, so the
// client sees a truncated CAR, never a complete-looking partial one.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) error {
	c, err := pinning.ParseCID(r.PathValue("cid"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/vnd.ipld.car; version=1")
	err = s.svc.ExportCAR(r.Context(), c, w)
	if err == nil {
		return nil
	}
	if rec, ok := w.(*statusRecorder); ok && rec.status != 0 {
		s.log.Error("export car", "cid", c, "err", err)
		panic(http.ErrAbortHandler)
	}
	w.Header().Del("Content-Type")
	return err
}
