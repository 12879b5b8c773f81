package server

import (
	"context"
	"net/http"
	"time"

	"github.com/ipfs/go-cid"
)

// GCResult is what a garbage collection freed, as POST /admin/gc reports it.
type GCResult struct {
	Blocks     int64   `json:"blocksFreed"`
	Bytes      int64   `json:"bytesFreed"`
	Roots      int     `json:"liveRoots"`
	DurationMS float64 `json:"durationMs"`
}

// errNoNode answers node operations on a server built without a node.
var errNoNode = apiErr(http.StatusServiceUnavailable, "UNAVAILABLE", "this server runs without an IPFS node")

// CollectGarbage deletes every block not reachable from a pin record, of
// any account and any status (a queued request's partial DAG is kept for
// its fetch). The root set is read only once the node holds its GC lock,
// so an upload acknowledged before is kept, and uploads started after
// wait for the sweep (see node.GCFunc).
func (s *Server) CollectGarbage(ctx context.Context) (GCResult, error) {
	if s.node == nil {
		return GCResult{}, errNoNode
	}
	start := time.Now()
	var roots int
	stats, err := s.node.GCFunc(ctx, func(context.Context) ([]cid.Cid, error) {
		var live []cid.Cid
		err := s.store.LiveCIDs(func(v string) error {
			c, err := cid.Decode(v)
			if err != nil {
				return nil // not a CID: nothing it could keep
			}
			live = append(live, c)
			return nil
		})
		roots = len(live)
		return live, err
	})
	res := GCResult{Blocks: stats.Blocks, Bytes: stats.Bytes, Roots: roots,
		DurationMS: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		return res, err
	}
	s.log.Info("garbage collected", "blocks", res.Blocks, "bytes", res.Bytes, "roots", roots)
	return res, nil
}

// handleGC is POST /admin/gc.
func (s *Server) handleGC(w http.ResponseWriter, r *http.Request) {
	res, err := s.CollectGarbage(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// handleExport is GET /admin/export/{cid}: the DAG under cid as a CARv1
// from local blocks, for `ninja export` over the admin socket (over HTTP the
// gateway's ?format=car serves the same).
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	c, err := decodeCID(r.PathValue("cid"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.node == nil {
		s.writeError(w, r, errNoNode)
		return
	}
	if _, complete, err := s.node.LocalDAG(r.Context(), c); err != nil || !complete {
		s.writeError(w, r, apiErr(http.StatusNotFound, "NOT_FOUND", "%s is not stored here in full", c))
		return
	}
	w.Header().Set("Content-Type", "application/vnd.ipld.car; version=1")
	if err := s.node.ExportCAR(r.Context(), c, w); err != nil {
		s.log.Error("export car", "cid", c, "err", err)
	}
}
