package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/gateway"
	"github.com/ipfs/boxo/verifcid"
	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/multicodec"
	"github.com/prometheus/client_golang/prometheus"
)

// gatewayBlockTimeout bounds how long the gateway waits for one block.
// The block service is local-only, so a missing block fails at once; the
// timeout is a backstop against a stuck disk, not a network wait.
const gatewayBlockTimeout = 10 * time.Second

// defaultGatewayTimeout bounds one gateway response when
// Config.GatewayTimeout is zero: long enough for ~20 GB at 100 Mbit/s,
// short enough that a response cannot hold its goroutine and file handles
// for boxo's default of an hour. Hostile DAGs are stopped well before by
// Limits.MaxResponseBlocks.
const defaultGatewayTimeout = 30 * time.Minute

// setupGateway builds the gateway backend and handler once, for the life
// of the node. Building boxo's handler creates and registers about twenty
// Prometheus collectors; doing it per request (as Gateway once did) made
// an in-process 4 KiB read cost ~270 us of CPU and 575 allocations,
// against ~73 us and 203 built once (BenchmarkGatewaySmallRead).
//
// The collectors go to a registry of the node's own rather than
// prometheus.DefaultRegisterer: boxo tolerates re-registration (it reuses
// the collector already registered), but with the global registry two
// nodes in one process (tests, an offline command beside a server) would
// share counters, and the node would depend on package-level state.
func (n *Node) setupGateway(cfg Config) error {
	timeout, domains := cfg.GatewayTimeout, cfg.GatewayDomains
	if timeout <= 0 {
		timeout = defaultGatewayTimeout
	}
	// No exchange at all, not even an offline one: blockservice.GetBlocks
	// takes any read error (a spent budget included) for a miss and asks
	// the exchange, and the offline exchange would read the same block
	// from the store unbudgeted.
	bs := remoteBlockstore{budgetedBlockstore{n.bstore}, n}
	dns := newDNSLinkResolver(cfg.DNSLinkDomains, cfg.DNSResolver)
	vs, ns, err := newNameSystem(cfg.NameRecords, dns)
	if err != nil {
		return err
	}
	blocksBackend, err := gateway.NewBlocksBackend(
		blockservice.New(bs, nil),
		gateway.WithGetBlockTimeout(gatewayBlockTimeout),
		gateway.WithValueStore(vs),
		gateway.WithNameSystem(ns),
	)
	if err != nil {
		return fmt.Errorf("gateway backend: %w", err)
	}
	n.gateway = &gatewayBackend{BlocksBackend: blocksBackend, n: n, bs: bs}
	n.metrics = prometheus.NewRegistry()
	c := gateway.Config{
		DeserializedResponses: true,
		// DNSLink by Host header for the configured domains only: the name
		// system's resolver refuses every other name without a query.
		NoDNSLink: len(dns.domains) == 0,
		// Only this node's content is served; the "retrieval timed out"
		// page with its link to a public diagnostic service makes no sense.
		DiagnosticServiceURL: "",
		MaxRequestDuration:   timeout,
		MetricsRegistry:      n.metrics,
		PublicGateways:       subdomainGateways(domains),
	}
	checked := &gatewayHandler{inner: gateway.NewHandler(c, n.gateway), n: n, dns: dns, records: vs}
	n.gatewayHandler = checked
	if len(c.PublicGateways) > 0 || !c.NoDNSLink {
		// boxo's hostname handler runs before the node's checks, which see
		// the path it rewrote {cid}.ipfs.{domain}/x to (/ipfs/{cid}/x).
		n.gatewayHandler = gateway.NewHostnameHandler(c, n.gateway, checked)
	}
	return nil
}

// subdomainGateways are the public gateways of domains: subdomain
// gateways for /ipfs/ and /ipns/ ({name}.ipns.{domain}: the names held
// here, see NameRecords), with deserialized responses, so that sites
// render and their _redirects apply, and no DNSLink on the gateway
// domains' own subdomains (DNSLink is for the configured DNSLink
// domains, by their Host). InlineDNSLink is moot without DNSLink.
func subdomainGateways(domains []string) map[string]*gateway.PublicGateway {
	if len(domains) == 0 {
		return nil
	}
	gws := make(map[string]*gateway.PublicGateway, len(domains))
	for _, d := range domains {
		gws[d] = &gateway.PublicGateway{
			Paths:                 []string{"/ipfs", "/ipns"},
			UseSubdomains:         true,
			NoDNSLink:             true,
			DeserializedResponses: true,
		}
	}
	return gws
}

// Gateway returns an http.Handler serving GET and HEAD /ipfs/{cid}[/path]
// with boxo's gateway over the local block store only: it never fetches
// from the network, so an unknown CID is a fast 404 and an invalid one a
// 400. It supports Range, ?format=raw|car, Accept:
// application/vnd.ipld.car, directory listings, Content-Type sniffing,
// ETag and immutable Cache-Control. /ipns/{name} resolves only the names
// Config.NameRecords holds (others are a 404) and ?format=ipns-record
// serves their records; /ipns/{domain} and a request whose Host is a
// domain follow the _dnslink TXT record of Config.DNSLinkDomains only
// (node/ipnsgw.go). Any other path is a 404: an anonymous request never
// makes the node look a name up in the DHT or in DNS.
//
// Bounds, so that no anonymous request costs more than a bounded amount:
//
//   - ?format=tar and Accept: application/x-tar are refused with 400 and
//     {"error":{"reason":"BAD_REQUEST","details":…}}. A tar of a UnixFS
//     directory repeats every path in full, so its size grows with the
//     square of the directory's depth (a 90 KB upload became a 1.39 GB
//     tar), and it follows repeated links (a 5.4 KB DAG whose levels link
//     twice to one child streams forever). Capping it would serve
//     truncated archives that look whole to most tar readers; the CAR
//     (?format=car) and per-file GETs give the same content, verifiably
//     and in linear size, so tar is refused rather than capped.
//   - every response may read at most Limits.MaxResponseBlocks blocks, repeats
//     included, and must end within Config.GatewayTimeout (30 minutes by
//     default); past either a response that has not started is an error
//     (410, 504) and one that has is cut off, a CAR with boxo's
//     truncation marker so that no reader takes it for whole;
//   - a whole-DAG CAR (/ipfs/{cid}?format=car, dag-scope=all) is written
//     by an iterative walk, complete to Limits.MaxDAGDepth (see
//     ExportCAR), in the same bytes boxo would write.
//
// With Config.GatewayDomains it is also a subdomain gateway, through
// boxo's hostname handling: {cid}.ipfs.{domain}/path serves /ipfs/{cid}/path
// with origin isolation (so a directory's _redirects file applies, as
// boxo implements it), a CID label too long for DNS (over 63 bytes) is
// redirected to its base36 form, and {domain}/ipfs/{cid}/path is
// redirected (301) to the subdomain with the CID as CIDv1 base32 (a
// CIDv0 converted), whose scheme is https only if the request's URL or
// X-Forwarded-Proto says so.
// boxo believes X-Forwarded-Host and X-Forwarded-Proto: whoever mounts the
// handler must drop them from untrusted clients. Hosts that are neither a
// domain nor a subdomain of one are served as a path gateway, as without
// domains.
//
// The handler is built once, in New; every call returns the same one.
func (n *Node) Gateway() http.Handler {
	return n.gatewayHandler
}

// gatewayHandler is boxo's handler behind the node's request checks.
type gatewayHandler struct {
	inner   http.Handler
	n       *Node
	dns     *dnslinkResolver
	records localRecords
}

func (h *gatewayHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/ipns/"):
		// An IPNS name resolves from the records held here (a name not
		// held is boxo's 404 or 500 on an empty value store, so it is
		// refused here first); a domain only if it is a DNSLink domain.
		root, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/ipns/"), "/")
		name, err := ParseName(root)
		switch {
		case err != nil && !h.dns.Allowed(root):
			writeError(w, http.StatusNotFound, "NOT_FOUND", "/ipns/ serves the names published on this server and its DNSLink domains only")
			return
		case err == nil:
			if _, err := h.records.lookup(r.Context(), string(mustName(name).RoutingKey())); err != nil {
				why := "no record of " + name + " is published on this server"
				if ex := (expiredRecord{}); errors.As(err, &ex) {
					why = ex.Error()
				}
				writeError(w, http.StatusNotFound, "NOT_FOUND", why)
				return
			}
		}
		if wantsTar(r) {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", "tar responses are not served; ask for the CAR (?format=car) or for the files")
			return
		}
		h.inner.ServeHTTP(w, r)
	case !strings.HasPrefix(r.URL.Path, "/ipfs/"):
		writeError(w, http.StatusNotFound, "NOT_FOUND", "only /ipfs/ and /ipns/ paths are served")
	case wantsTar(r):
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", "tar responses are not served (their size grows with "+
			"the square of a directory's depth); ask for the CAR (?format=car) or for the files")
	default:
		// boxo answers a CID whose hash it refuses (md5, a short digest, a
		// long identity) or whose codec it cannot decode with a 500: it is
		// the request that is wrong.
		if why := unservableCID(r.URL.Path); why != "" {
			writeError(w, http.StatusBadRequest, "INVALID_CID", why)
			return
		}
		root, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/ipfs/"), "/")
		if c, err := cid.Decode(root); err == nil && h.n != nil {
			r = r.WithContext(h.n.withRemote(r.Context(), c))
		}
		h.inner.ServeHTTP(w, r)
	}
}

// unservableCID says why the CID of an /ipfs/{cid}/… path, if it parses,
// cannot be served: a hash function or digest length the node refuses, or
// a codec it cannot decode. It returns "" for every other path (boxo
// answers unparsable CIDs with a 400 itself).
func unservableCID(p string) string {
	root, _, _ := strings.Cut(strings.TrimPrefix(p, "/ipfs/"), "/")
	c, err := cid.Decode(root)
	switch {
	case err != nil:
		return ""
	case verifcid.ValidateCid(verifcid.DefaultAllowlist, c) != nil:
		return "the CID's hash function or digest length is not allowed"
	case c.Type() == cid.Raw || c.Type() == cid.DagProtobuf:
		return ""
	}
	if _, err := multicodec.LookupDecoder(c.Type()); err != nil {
		return fmt.Sprintf("the CID's codec 0x%x is not supported", c.Type())
	}
	return ""
}

// wantsTar reports whether boxo would answer r with a tar: ?format=tar, or
// with no ?format it knows, a first vendor-specific Accept type of
// application/x-tar (boxo answers the first such type, ignoring weights).
func wantsTar(r *http.Request) bool {
	switch r.URL.Query().Get("format") {
	case "tar":
		return true
	case "raw", "car", "json", "cbor", "dag-json", "dag-cbor", "ipns-record":
		return false
	}
	for _, header := range r.Header.Values("Accept") {
		for v := range strings.SplitSeq(header, ",") {
			v = strings.TrimSpace(v)
			switch {
			case strings.HasPrefix(v, "application/x-tar"):
				return true
			case strings.HasPrefix(v, "application/vnd.ipld"), strings.HasPrefix(v, "application/vnd.ipfs"),
				strings.HasPrefix(v, "application/json"), strings.HasPrefix(v, "application/cbor"):
				return false
			}
		}
	}
	return false
}

// writeError answers in the API's error shape; the gateway is mounted in
// the API's URL space, so its own refusals look like the API's.
func writeError(w http.ResponseWriter, status int, reason, details string) {
	var body struct {
		Error struct {
			Reason  string `json:"reason"`
			Details string `json:"details"`
		} `json:"error"`
	}
	body.Error.Reason, body.Error.Details = reason, details
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
