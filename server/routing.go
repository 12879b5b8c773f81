package server

import (
	"fmt"
	"net/http"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/pinning"
)

// handleRouting serves GET and PUT /routing/v1/ipns/{name}, the delegated
// routing API's IPNS part, through boxo's routing server (the node's
// RoutingHandler) over the records held here. A GET of a name not held
// here is boxo's answer for no record (200, text/plain, per IPIP-0513).
//
// A PUT is checked by boxo (the record decodes and is validly signed by
// the name's key, and is not expired: else 400), then by the domain
// (pinning.Service.PutIPNSRecord): kept only for a name an account
// registered here (else 404: this is no free record host) and only with
// a higher sequence (else 409). boxo answers the domain's refusals with a
// 500, so the refusal is caught and answered by the error mapper instead.
func (s *Server) handleRouting(w http.ResponseWriter, r *http.Request) error {
	if s.routing == nil {
		return fmt.Errorf("%w: this server has no delegated routing endpoint", pinning.ErrUnavailable)
	}
	sink := &node.RefusalSink{}
	rw := &refusalWriter{ResponseWriter: w, sink: sink}
	s.routing.ServeHTTP(rw, r.WithContext(node.WithRefusalSink(r.Context(), sink)))
	if rw.dropped {
		return sink.Err()
	}
	return nil
}

// refusalWriter drops boxo's 500 for a PUT the domain refused, so that
// the refusal is answered in the API's error shape with its own status.
type refusalWriter struct {
	http.ResponseWriter
	sink    *node.RefusalSink
	dropped bool
}

func (w *refusalWriter) WriteHeader(code int) {
	if code >= 500 && w.sink.Err() != nil {
		w.dropped = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *refusalWriter) Write(b []byte) (int, error) {
	if w.dropped {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}
