package server

import (
	"fmt"
	"io"
	"net/http"

	"github.com/ninja-ipfs/ninja/pinning"
)

// handleGateway serves /ipfs/ through the node's gateway handler, which
// reads the local block store only, and records the bytes served.
//
// Uploaded content shares its origin with the dashboard and the API, so
// every gateway response is sandboxed: pages and SVGs still render and run
// their scripts, but in an opaque origin that cannot read the dashboard's
// storage (where its key lives) or call the API as it. Sites that need
// their own origin belong on a subdomain gateway.
func (s *Server) handleGateway(w http.ResponseWriter, r *http.Request) error {
	if s.gateway == nil {
		return fmt.Errorf("%w: this server has no gateway", pinning.ErrUnavailable)
	}
	h := w.Header()
	h.Set("Content-Security-Policy", gatewayCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	cw := &countingWriter{ResponseWriter: w}
	s.gateway.ServeHTTP(cw, r)
	if cw.n > 0 {
		s.svc.RecordGatewayRead(firstSegment(r.URL.Path), cw.status, cw.n)
	}
	return nil
}

// gatewayCSP sandboxes gateway responses without allow-same-origin.
const gatewayCSP = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads"

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// ReadFrom keeps the underlying writer's fast path (sendfile, large
// copies) for the gateway's file bodies while counting them.
func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(w.ResponseWriter, r)
	}
	w.n += n
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// firstSegment is the CID of an /ipfs/{cid}/… path.
func firstSegment(p string) string {
	const prefix = "/ipfs/"
	if len(p) <= len(prefix) {
		return ""
	}
	p = p[len(prefix):]
	for i := 0; i < len(p); i++ {
		if p[i] == '/' || p[i] == '?' {
			return p[:i]
		}
	}
	return p
}
