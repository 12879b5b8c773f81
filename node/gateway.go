package node

import (
	"fmt"
	"net/http"
	"time"

	"github.com/ipfs/boxo/gateway"
	"github.com/prometheus/client_golang/prometheus"
)

// gatewayBlockTimeout bounds how long the gateway waits for one block.
// The block service is local-only, so a missing block fails at once; the
// timeout is a backstop against a stuck disk, not a network wait.
const gatewayBlockTimeout = 10 * time.Second

// setupGateway builds the gateway backend and handler once, for the life
// of the node. Building boxo's handler creates and registers about twenty
// Prometheus collectors; doing it per request (as Gateway once did) was
// ~45% of a 4 KiB read's CPU.
//
// The collectors go to a registry of the node's own rather than
// prometheus.DefaultRegisterer: boxo tolerates re-registration (it reuses
// the collector already registered), but with the global registry two
// nodes in one process (tests, an offline command beside a server) would
// share counters, and the node would depend on package-level state.
func (n *Node) setupGateway() error {
	backend, err := gateway.NewBlocksBackend(n.localBS, gateway.WithGetBlockTimeout(gatewayBlockTimeout))
	if err != nil {
		return fmt.Errorf("gateway backend: %w", err)
	}
	n.gateway = backend
	n.metrics = prometheus.NewRegistry()
	n.gatewayHandler = gateway.NewHandler(gateway.Config{
		DeserializedResponses: true,
		NoDNSLink:             true,
		// Only this node's content is served; the "retrieval timed out"
		// page with its link to a public diagnostic service makes no sense.
		DiagnosticServiceURL: "",
		MetricsRegistry:      n.metrics,
	}, backend)
	return nil
}

// Gateway returns an http.Handler serving GET and HEAD /ipfs/{cid}[/path]
// with boxo's gateway over the local block store only: it never fetches
// from the network, so an unknown CID is a fast 404 and an invalid one a
// 400. It supports Range, ?format=raw|car, Accept:
// application/vnd.ipld.car, directory listings, Content-Type sniffing,
// ETag and immutable Cache-Control. DNSLink and /ipns/ are disabled: a
// pinning service serves its own content by CID.
//
// The handler is built once, in New; every call returns the same one.
func (n *Node) Gateway() http.Handler {
	return n.gatewayHandler
}
