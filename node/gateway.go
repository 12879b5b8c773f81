package node

import (
	"net/http"
	"time"

	"github.com/ipfs/boxo/gateway"
)

// gatewayBlockTimeout bounds how long the gateway waits for one block.
// The block service is local-only, so a missing block fails at once; the
// timeout is a backstop against a stuck disk, not a network wait.
const gatewayBlockTimeout = 10 * time.Second

// Gateway returns an http.Handler serving GET and HEAD /ipfs/{cid}[/path]
// with boxo's gateway over the local block store only: it never fetches
// from the network, so an unknown CID is a fast 404 and an invalid one a
// 400. It supports Range, ?format=raw|car, Accept:
// application/vnd.ipld.car, directory listings, Content-Type sniffing,
// ETag and immutable Cache-Control. DNSLink and /ipns/ are disabled: a
// pinning service serves its own content by CID.
func (n *Node) Gateway() http.Handler {
	return gateway.NewHandler(gateway.Config{
		DeserializedResponses: true,
		NoDNSLink:             true,
		// Only this node's content is served; the "retrieval timed out"
		// page with its link to a public diagnostic service makes no sense.
		DiagnosticServiceURL: "",
	}, n.gateway)
}
