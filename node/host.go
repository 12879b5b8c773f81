package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ipfs/boxo/bitswap"
	bsnet "github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// defaultListenAddrs are used when Config.ListenAddrs is empty: Kubo's
// swarm port, TCP and QUIC. A function, not a var, so nothing can mutate it.
func defaultListenAddrs() []string {
	return []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"}
}

// startNetwork starts the host, the DHT (unless offline) and bitswap.
func (n *Node) startNetwork(ctx context.Context, cfg Config) error {
	var priv crypto.PrivKey
	var err error
	if cfg.Identity != nil {
		if priv, err = crypto.UnmarshalPrivateKey(cfg.Identity); err != nil {
			return fmt.Errorf("identity: %w", err)
		}
	} else if priv, _, err = crypto.GenerateEd25519Key(nil); err != nil {
		// No identity given: an ephemeral one, for tests and tools. The
		// data directory's persistent identity is the wiring's to load.
		return fmt.Errorf("generate identity: %w", err)
	}
	listen := cfg.ListenAddrs
	if len(listen) == 0 {
		listen = defaultListenAddrs()
	}
	// Only TCP and QUIC: they are what Kubo peers dial, and every extra
	// transport (WebRTC, WebTransport, websockets) adds goroutines and
	// listeners a pinning service has no use for.
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(libp2pquic.NewTransport),
		libp2p.ConnectionGater(addrGater{allowPrivate: cfg.AllowPrivatePeers}),
	)
	if err != nil {
		return fmt.Errorf("start libp2p host: %w", err)
	}
	n.host = h

	bootstrap, err := parseAddrInfos(cfg.Bootstrap)
	if err != nil {
		return fmt.Errorf("bootstrap peers: %w", err)
	}
	if !cfg.Offline {
		// ModeAuto: act as a DHT server only once AutoNAT says we are
		// publicly reachable, as Kubo does by default.
		d, err := dht.New(h, dht.Mode(dht.ModeAuto), dht.BootstrapPeers(bootstrap...))
		if err != nil {
			return fmt.Errorf("start dht: %w", err)
		}
		n.dht = d
		if err := d.Bootstrap(ctx); err != nil {
			return fmt.Errorf("bootstrap dht: %w", err)
		}
		n.connectAll(ctx, bootstrap)
	}

	// The DHT is the content router for the bitswap client when online;
	// offline, bitswap only asks peers it is already connected to.
	var bs *bitswap.Bitswap
	if n.dht != nil {
		bs = bitswap.New(ctx, bsnet.NewFromIpfsHost(h), n.dht, n.bstore)
	} else {
		bs = bitswap.New(ctx, bsnet.NewFromIpfsHost(h), nil, n.bstore)
	}
	n.bitswap = bs
	return nil
}

// connectAll dials peers in the background; failures are only logged
// because any subset of bootstrap peers is enough.
func (n *Node) connectAll(ctx context.Context, peers []peer.AddrInfo) {
	for _, pi := range peers {
		go func() {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := n.host.Connect(cctx, pi); err != nil {
				n.log.Debug("bootstrap dial failed", "peer", pi.ID, "err", err)
			}
		}()
	}
}

// NewIdentity generates a libp2p identity: an Ed25519 private key in
// crypto.MarshalPrivateKey form, for Config.Identity.
func NewIdentity() ([]byte, error) {
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, fmt.Errorf("generate identity: %w", err)
	}
	return crypto.MarshalPrivateKey(k)
}

// ValidIdentity reports whether b is a private key Config.Identity accepts.
func ValidIdentity(b []byte) error {
	if _, err := crypto.UnmarshalPrivateKey(b); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	return nil
}

// parseAddrInfos parses multiaddrs ending in /p2p/<id>, merging addresses
// of the same peer.
func parseAddrInfos(addrs []string) ([]peer.AddrInfo, error) {
	var mas []ma.Multiaddr
	for _, s := range addrs {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("parse multiaddr %q: %w", s, err)
		}
		mas = append(mas, m)
	}
	infos, err := peer.AddrInfosFromP2pAddrs(mas...)
	if err != nil {
		return nil, fmt.Errorf("parse peer addresses: %w", err)
	}
	return infos, nil
}

// PeerID returns the node's libp2p peer ID ("" with NoNetwork).
func (n *Node) PeerID() string {
	if n.host == nil {
		return ""
	}
	return n.host.ID().String()
}

// Addrs returns the node's listen multiaddrs, each ending in /p2p/<id>.
// Unspecified addresses (0.0.0.0, ::) are expanded to the interface
// addresses, as libp2p itself reports them.
func (n *Node) Addrs() []string {
	if n.host == nil {
		return nil
	}
	p2p, err := ma.NewComponent("p2p", n.host.ID().String())
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range n.host.Addrs() {
		out = append(out, a.Encapsulate(p2p.Multiaddr()).String())
	}
	return out
}

// Peers returns the IDs of currently connected peers.
func (n *Node) Peers() []string {
	if n.host == nil {
		return nil
	}
	ps := n.host.Network().Peers()
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// Connect dials addr, a multiaddr ending in /p2p/<id>. Unless
// Config.AllowPrivatePeers is set, an address the gater refuses (see
// ValidateOrigins) fails with ErrAddrNotAllowed before anything is
// dialled, names for this host such as /dns4/localhost included.
func (n *Node) Connect(ctx context.Context, addr string) error {
	if n.host == nil {
		return fmt.Errorf("connect %s: %w", addr, ErrNoNetwork)
	}
	a, err := ma.NewMultiaddr(addr)
	if err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	if err := n.checkDial(a); err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	pi, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	if err := n.host.Connect(ctx, *pi); err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	return nil
}

// connectOrigins dials every origin concurrently and waits for all; it
// returns how many succeeded. Bad addresses and failed dials are logged,
// not fatal: the content may still come from other peers.
func (n *Node) connectOrigins(ctx context.Context, origins []string) int {
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for _, o := range origins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			if err := n.Connect(cctx, o); err != nil {
				n.log.Info("origin dial failed", "origin", o, "err", err)
				return
			}
			mu.Lock()
			ok++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return ok
}
