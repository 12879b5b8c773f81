package server

import (
	"net/http"

	"github.com/ninja-ipfs/ninja/api"
)

// handleWhoAmI is GET /auth/whoami: the presented credential's kind,
// account, scopes and expiry. The dashboard signs in with any credential
// that has pins:read and needs to know which of its views that credential
// may use; probing each endpoint instead would spend an access JWT's uses
// and still not tell pins:write from pins:read without writing. An upload
// credential gets its answer too (the route takes upload in place of
// pins:read), so a page can send it to the upload page. It reports only what
// the caller already holds.
func (s *Server) handleWhoAmI(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	a, err := s.svc.Account(r.Context(), p, state(r).account)
	if err != nil {
		return err
	}
	out := api.WhoAmI{Kind: p.Kind.Label(), Prefix: p.Prefix, AccountID: a.ID, AccountName: a.Name,
		Scopes: make([]string, len(p.Scopes)), ExpiresAt: millisOrNil(p.ExpiresAt)}
	for i, sc := range p.Scopes {
		out.Scopes[i] = string(sc)
	}
	if len(s.cfg.GatewayDomains) > 0 {
		out.SubdomainGateway = s.gatewayScheme(r) + "://" + s.cfg.GatewayDomains[0]
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
