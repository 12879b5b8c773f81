package server

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/ninja-ipfs/ninja/pinning"
)

// handleGateway serves /ipfs/ through the node's gateway handler, which
// reads the local block store only, and records the bytes served.
//
// Uploaded content shares its origin with the dashboard and the API, so
// every gateway response is sandboxed: pages and SVGs still render and run
// their scripts, but in an opaque origin that cannot read the dashboard's
// storage (where its key lives) or call the API as it. Sites that need
// their own origin belong on a subdomain gateway (--gateway-domains,
// subdomain.go), whose content hosts are served without the sandbox; on a
// gateway domain's own host, this path form redirects there.
func (s *Server) handleGateway(w http.ResponseWriter, r *http.Request) error {
	setGatewayCORS(w.Header())
	if s.gateway == nil {
		return fmt.Errorf("%w: this server has no gateway", pinning.ErrUnavailable)
	}
	release, err := s.gatewaySlots.acquire(s.clientIP(r))
	if err != nil {
		return err
	}
	defer release()
	h := w.Header()
	h.Set("Content-Security-Policy", gatewayCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	cw := &countingWriter{ResponseWriter: w}
	s.gateway.ServeHTTP(cw, s.gatewayRequest(r))
	if cw.n > 0 {
		s.svc.RecordGatewayRead(firstSegment(r.URL.Path), cw.status, cw.n)
	}
	return nil
}

// handleGatewayOptions answers OPTIONS on the gateway's paths, a CORS
// preflight or not, as boxo's handler does (200 with Allow), with the
// gateway's CORS headers. It never reaches the node: a preflight needs no
// content, and on a subdomain gateway's own host boxo would answer it
// with a redirect, which a preflight may not follow.
func (s *Server) handleGatewayOptions(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	setGatewayCORS(h)
	h.Set("Allow", gatewayCORSMethods)
	w.WriteHeader(http.StatusOK)
	return nil
}

// The gateway's CORS headers, as the path-gateway spec has them and
// boxo's gateway.Headers.ApplyCors sets them: any origin may read content
// by CID (it is public, and no credential is involved, so none is
// allowed), with the methods of a read-only gateway and the request
// headers a fetch of content sends. The exposed headers are the ones this
// gateway sends and a page may want: boxo's list without X-Chunked-Output
// and X-Stream-Output (Kubo RPC headers the gateway never sends), with
// ETag (revalidation) and Retry-After (the per-address cap's 429).
// Content-Length is safelisted already; it is listed as boxo lists it.
// The API's CORS (cors.go) is another matter: it names origins.
const (
	gatewayCORSMethods = "GET, HEAD, OPTIONS"
	gatewayCORSAllow   = "Content-Type, Range, User-Agent, X-Requested-With"
	gatewayCORSExpose  = "Content-Length, Content-Range, ETag, Ipfs-Uri, Retry-After, X-Ipfs-Roots"
)

// setGatewayCORS sets the gateway's CORS headers on every response,
// whether the request has an Origin or not: the answer does not depend on
// it (no Vary: Origin), so a cache may serve it to any page.
func setGatewayCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", gatewayCORSMethods)
	h.Set("Access-Control-Allow-Headers", gatewayCORSAllow)
	h.Set("Access-Control-Expose-Headers", gatewayCORSExpose)
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

// gatewayPerAddress bounds the gateway requests one client address runs at
// once. Every response is bounded (blocks read, time), but a bounded
// hostile one can still cost seconds of CPU; without a per-address cap one
// host could run hundreds of them and starve every other reader.
const gatewayPerAddress = 16

// addrSlots counts requests in flight per client address.
type addrSlots struct {
	max  int
	mu   sync.Mutex
	busy map[netip.Addr]int
}

func newAddrSlots(max int) *addrSlots { return &addrSlots{max: max, busy: map[netip.Addr]int{}} }

// acquire takes a slot for a, or refuses with a rate-limit error when a has
// max requests running; an unknown address is not capped here.
func (s *addrSlots) acquire(a netip.Addr) (release func(), err error) {
	if !a.IsValid() || s.max <= 0 {
		return func() {}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[a] >= s.max {
		return nil, &pinning.RateLimitError{What: fmt.Sprintf("gateway requests at once from this address (at most %d)", s.max), RetryAfter: time.Second}
	}
	s.busy[a]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.busy[a]--; s.busy[a] <= 0 {
			delete(s.busy, a)
		}
	}, nil
}
