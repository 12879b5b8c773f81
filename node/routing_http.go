package node

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/ipfs/boxo/ipns"
	"github.com/ipfs/boxo/routing/http/server"
	"github.com/ipfs/boxo/routing/http/types"
	"github.com/ipfs/boxo/routing/http/types/iter"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"
)

// IPNSRecords is what the delegated routing endpoint serves: the records
// of the names held here (the domain, pinning.Service). Get returns an
// error for a name not held; Put decides whether to keep a record that
// boxo has already checked is validly signed by the name's key.
type IPNSRecords interface {
	IPNSRecord(ctx context.Context, name string) ([]byte, error)
	PutIPNSRecord(ctx context.Context, name string, record []byte) error
}

// RoutingHandler serves the delegated routing HTTP API's IPNS part
// (GET and PUT /routing/v1/ipns/{name}) with boxo's routing/http/server
// over records. Providers, peers and closest peers are answered as not
// found: this server routes its own names, it is not a public router.
//
// boxo answers every error of a PUT with a 500; a refusal by records (a
// stale sequence, a name not held here) is kept in the request's context
// when it carries a RefusalSink (WithRefusalSink), so that the caller can
// answer it as the refusal it is.
func (n *Node) RoutingHandler(records IPNSRecords) http.Handler {
	return server.Handler(&ipnsRouter{records: records},
		server.WithPrometheusRegistry(n.metrics),
		server.WithStreamingResultsDisabled())
}

// RefusalSink keeps the refusal of a delegated routing PUT.
type RefusalSink struct {
	mu  sync.Mutex
	err error
}

// Err is the kept refusal, or nil.
func (s *RefusalSink) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

type refusalKey struct{}

// WithRefusalSink returns ctx carrying sink.
func WithRefusalSink(ctx context.Context, sink *RefusalSink) context.Context {
	return context.WithValue(ctx, refusalKey{}, sink)
}

type ipnsRouter struct{ records IPNSRecords }

func (r *ipnsRouter) GetIPNS(ctx context.Context, name ipns.Name) (*ipns.Record, error) {
	raw, err := r.records.IPNSRecord(ctx, name.String())
	if err != nil {
		return nil, routing.ErrNotFound
	}
	return ipns.UnmarshalRecord(raw)
}

func (r *ipnsRouter) PutIPNS(ctx context.Context, name ipns.Name, record *ipns.Record) error {
	raw, err := ipns.MarshalRecord(record)
	if err == nil {
		err = r.records.PutIPNSRecord(ctx, name.String(), raw)
	}
	if err != nil {
		if sink, ok := ctx.Value(refusalKey{}).(*RefusalSink); ok {
			sink.mu.Lock()
			sink.err = err
			sink.mu.Unlock()
		}
	}
	return err
}

func (r *ipnsRouter) FindProviders(context.Context, cid.Cid, int) (iter.ResultIter[types.Record], error) {
	return nil, routing.ErrNotFound
}

func (r *ipnsRouter) ProvideBitswap(context.Context, *server.BitswapWriteProvideRequest) (time.Duration, error) {
	return 0, routing.ErrNotSupported
}

func (r *ipnsRouter) FindPeers(context.Context, peer.ID, int) (iter.ResultIter[*types.PeerRecord], error) {
	return nil, routing.ErrNotFound
}

func (r *ipnsRouter) GetClosestPeers(context.Context, cid.Cid) (iter.ResultIter[*types.PeerRecord], error) {
	return nil, routing.ErrNotFound
}
