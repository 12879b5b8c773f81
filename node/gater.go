package node

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// maxOrigins is the Pinning Service API's limit on a pin's origins.
const maxOrigins = 20

// maxOriginBytes bounds one origin multiaddr; real ones are under 200 bytes.
const maxOriginBytes = 1024

// addrGater is the host's connection gater. A pinning service dials what
// its users name (pin origins) and what the DHT tells it, so unless
// Config.AllowPrivatePeers is set it refuses every outbound dial to an
// address a public server must not reach on a user's behalf: loopback,
// private, link-local, carrier-grade NAT, multicast, unspecified, reserved
// and cloud metadata addresses, in IPv4 and IPv6, including IPv6 forms of
// IPv4 ones. libp2p resolves /dns* multiaddrs before it asks the gater, so
// a name that resolves to such an address is refused too; an address
// that still names a host is refused, since only resolved ones are ever
// dialled. Inbound connections are not gated: a peer that connects to us
// reaches nothing of ours.
type addrGater struct {
	allowPrivate bool
}

// InterceptPeerDial allows every peer; addresses are what is gated.
func (g addrGater) InterceptPeerDial(peer.ID) bool { return true }

// InterceptAddrDial refuses addresses in refused ranges.
func (g addrGater) InterceptAddrDial(_ peer.ID, a ma.Multiaddr) bool {
	return g.allowPrivate || dialable(a, false) == nil
}

// InterceptAccept allows every inbound connection.
func (g addrGater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured allows every secured connection.
func (g addrGater) InterceptSecured(network.Direction, peer.ID, network.ConnMultiaddrs) bool {
	return true
}

// InterceptUpgraded allows every upgraded connection.
func (g addrGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// dialable reports why a is not to be dialled, by its first component:
// an IP in a refused range, a zone-scoped IPv6, a transport with no
// address. Host names are refused unless names is set (an origin before
// resolution), and then only those that mean this host ("localhost").
// Addresses of the peer-only form (/p2p/…, relay circuits) are allowed:
// what they lead to is dialled, and gated, on its own.
func dialable(a ma.Multiaddr, names bool) error {
	if len(a) == 0 {
		return nil
	}
	c := a[0]
	switch c.Code() {
	case ma.P_IP4, ma.P_IP6:
		ip, ok := netip.AddrFromSlice(c.RawValue())
		if !ok {
			return fmt.Errorf("%w: bad IP in %s", ErrAddrNotAllowed, a)
		}
		if why := refusedIP(ip); why != "" {
			return fmt.Errorf("%w: %s is a %s address", ErrAddrNotAllowed, ip, why)
		}
		return nil
	case ma.P_DNS, ma.P_DNS4, ma.P_DNS6, ma.P_DNSADDR:
		name := strings.TrimSuffix(strings.ToLower(c.Value()), ".")
		switch {
		case !names:
			return fmt.Errorf("%w: unresolved host name %q", ErrAddrNotAllowed, name)
		case name == "localhost" || strings.HasSuffix(name, ".localhost"):
			return fmt.Errorf("%w: %q is this host", ErrAddrNotAllowed, name)
		}
		return nil
	case ma.P_P2P, ma.P_CIRCUIT:
		return nil
	case ma.P_IP6ZONE:
		return fmt.Errorf("%w: zone-scoped address %s", ErrAddrNotAllowed, a)
	}
	return fmt.Errorf("%w: %s does not start with an IP address or host name", ErrAddrNotAllowed, a)
}

// refusedIP names the refused range ip is in, or returns "".
func refusedIP(ip netip.Addr) string {
	ip = ip.Unmap() // ::ffff:a.b.c.d is a.b.c.d
	if ip.Is6() && nat64.Contains(ip) {
		// A NAT64 gateway turns 64:ff9b::a.b.c.d into a.b.c.d.
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsMulticast():
		return "multicast"
	}
	for _, r := range refusedRanges() {
		if r.prefix.Contains(ip) {
			return r.why
		}
	}
	return ""
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// namedPrefix is a refused range and what it is.
type namedPrefix struct {
	prefix netip.Prefix
	why    string
}

// refusedRanges are the ranges beyond netip's loopback, multicast and
// unspecified checks, most specific first so that the reason is precise.
var refusedRanges = sync.OnceValue(func() []namedPrefix {
	var out []namedPrefix
	for _, r := range []struct{ cidr, why string }{
		{"169.254.169.254/32", "cloud metadata"}, // AWS, GCP, Azure, …
		{"fd00:ec2::254/128", "cloud metadata"},  // AWS over IPv6
		{"100.100.100.200/32", "cloud metadata"}, // Alibaba Cloud
		{"192.0.0.192/32", "cloud metadata"},     // Oracle Cloud
		{"0.0.0.0/8", "unspecified"},             // "this network"
		{"10.0.0.0/8", "private"},
		{"172.16.0.0/12", "private"},
		{"192.168.0.0/16", "private"},
		{"100.64.0.0/10", "carrier-grade NAT"},
		{"169.254.0.0/16", "link-local"},
		{"192.0.0.0/24", "reserved"},  // IETF protocol assignments
		{"198.18.0.0/15", "reserved"}, // benchmarking, used inside networks
		{"255.255.255.255/32", "broadcast"},
		{"240.0.0.0/4", "reserved"},
		{"fc00::/7", "private"}, // unique local
		{"fe80::/10", "link-local"},
		{"fec0::/10", "private"}, // deprecated site-local
		{"::/96", "reserved"},    // IPv4-compatible, deprecated
		{"100::/64", "reserved"}, // discard-only
	} {
		out = append(out, namedPrefix{netip.MustParsePrefix(r.cidr), r.why})
	}
	return out
})

// ValidateOrigins checks a pin request's origins before it is queued:
// at most 20 (the Pinning Service API's limit), each a multiaddr of at
// most 1024 bytes ending in /p2p/<peer id>, whose address (if it has one)
// the node would dial: not in a refused range (see Config.AllowPrivatePeers)
// nor a name for this host such as /dns4/localhost. Host names are
// checked again, once resolved, when they are dialled. The error wraps
// ErrBadOrigin, and also ErrAddrNotAllowed when that is the reason.
func (n *Node) ValidateOrigins(origins []string) error {
	if len(origins) > maxOrigins {
		return fmt.Errorf("%w: %d origins, at most %d are allowed", ErrBadOrigin, len(origins), maxOrigins)
	}
	for _, o := range origins {
		if len(o) > maxOriginBytes {
			return fmt.Errorf("%w: an origin of %d bytes, at most %d are allowed", ErrBadOrigin, len(o), maxOriginBytes)
		}
		a, err := ma.NewMultiaddr(o)
		if err != nil {
			return fmt.Errorf("%w: origin %q is not a multiaddr: %w", ErrBadOrigin, o, err)
		}
		if _, err := peer.AddrInfoFromP2pAddr(a); err != nil {
			return fmt.Errorf("%w: origin %q does not end in /p2p/<peer id>", ErrBadOrigin, o)
		}
		if err := n.checkDial(a); err != nil {
			return fmt.Errorf("%w: origin %q: %w", ErrBadOrigin, o, err)
		}
	}
	return nil
}

// checkDial applies the gater's rules to an address before it is handed
// to libp2p, with host names allowed but for localhost.
func (n *Node) checkDial(a ma.Multiaddr) error {
	if n.allowPrivate {
		return nil
	}
	return dialable(a, true)
}
