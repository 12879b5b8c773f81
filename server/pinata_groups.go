package server

import (
	"net/http"
	"strconv"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/store"
)

// Pinata v3 groups: named sets of an account's files (pins), under
// /v3/groups/{network}. A file may be in several groups; a file's group_id
// is the first it joined.

func pinataGroup(g store.Group) api.PinataGroup {
	t := g.Created.Format(timeFormat)
	return api.PinataGroup{ID: g.ID, Name: g.Name, IsPublic: g.Public, CreatedAt: t, Created: t}
}

// handleGroupCreate is POST /v3/groups/{network} {name, is_public}.
func (s *Server) handleGroupCreate(w http.ResponseWriter, r *http.Request) error {
	if err := pinataNetwork(r); err != nil {
		return err
	}
	var req api.PinataGroupRequest
	if err := decodeJSON(w, r, maxSmallBody, &req, false); err != nil {
		return err
	}
	if req.Name == nil {
		return errInvalid("a group needs a name")
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	g, err := s.svc.CreateGroup(r.Context(), accountID, *req.Name, req.IsPublic != nil && *req.IsPublic)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataData[api.PinataGroup]{Data: pinataGroup(g)})
	return nil
}

// handleGroupList is GET /v3/groups/{network}: name (contained, any case),
// isPublic, limit and pageToken.
func (s *Server) handleGroupList(w http.ResponseWriter, r *http.Request) error {
	if err := pinataNetwork(r); err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := pinataLimit(q.Get("limit"))
	if err != nil {
		return err
	}
	f := store.GroupFilter{Name: q.Get("name"), Page: store.Page{Limit: limit, Cursor: q.Get("pageToken")}}
	if v := q.Get("isPublic"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errInvalid("isPublic must be true or false")
		}
		f.Public = &b
	}
	accountID, err := s.account(r)
	if err != nil {
		return err
	}
	groups, next, err := s.svc.Groups(r.Context(), accountID, f)
	if err != nil {
		return err
	}
	out := api.PinataGroupList{Groups: make([]api.PinataGroup, len(groups)), NextPageToken: next}
	for i, g := range groups {
		out.Groups[i] = pinataGroup(g)
	}
	writeJSON(w, http.StatusOK, api.PinataData[api.PinataGroupList]{Data: out})
	return nil
}

// handleGroupGet is GET /v3/groups/{network}/{id}.
func (s *Server) handleGroupGet(w http.ResponseWriter, r *http.Request) error {
	if err := pinataNetwork(r); err != nil {
		return err
	}
	g, err := s.svc.Group(r.Context(), actor(r).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataData[api.PinataGroup]{Data: pinataGroup(g)})
	return nil
}

// handleGroupUpdate is PUT /v3/groups/{network}/{id} {name?, is_public?}.
func (s *Server) handleGroupUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := pinataNetwork(r); err != nil {
		return err
	}
	var req api.PinataGroupRequest
	if err := decodeJSON(w, r, maxSmallBody, &req, false); err != nil {
		return err
	}
	g, err := s.svc.UpdateGroup(r.Context(), actor(r).AccountID, r.PathValue("id"), req.Name, req.IsPublic)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataData[api.PinataGroup]{Data: pinataGroup(g)})
	return nil
}

// handleGroupDelete is DELETE /v3/groups/{network}/{id}: the group goes,
// its files stay.
func (s *Server) handleGroupDelete(w http.ResponseWriter, r *http.Request) error {
	if err := pinataNetwork(r); err != nil {
		return err
	}
	if err := s.svc.DeleteGroup(r.Context(), actor(r).AccountID, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataData[any]{})
	return nil
}

// handleGroupAddFile is PUT /v3/groups/{network}/{id}/ids/{file}.
func (s *Server) handleGroupAddFile(w http.ResponseWriter, r *http.Request) error {
	if err := pinataNetwork(r); err != nil {
		return err
	}
	if err := s.svc.AddToGroup(r.Context(), actor(r).AccountID, r.PathValue("id"), r.PathValue("file")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataData[any]{})
	return nil
}

// handleGroupRemoveFile is DELETE /v3/groups/{network}/{id}/ids/{file}.
func (s *Server) handleGroupRemoveFile(w http.ResponseWriter, r *http.Request) error {
	if err := pinataNetwork(r); err != nil {
		return err
	}
	if err := s.svc.RemoveFromGroup(r.Context(), actor(r).AccountID, r.PathValue("id"), r.PathValue("file")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PinataData[any]{})
	return nil
}
