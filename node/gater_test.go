package node

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func TestTheGaterRefusesNonPublicAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr string
		why  string // "" means allowed
	}{
		{"/ip4/8.8.8.8/tcp/4001", ""},
		{"/ip4/1.1.1.1/udp/4001/quic-v1", ""},
		{"/ip6/2001:4860:4860::8888/tcp/4001", ""},
		{"/ip4/127.0.0.1/tcp/4001", "loopback"},
		{"/ip4/127.8.9.10/tcp/4001", "loopback"},
		{"/ip4/10.1.2.3/tcp/4001", "private"},
		{"/ip4/172.16.0.1/tcp/4001", "private"},
		{"/ip4/172.31.255.255/tcp/4001", "private"},
		{"/ip4/192.168.1.1/tcp/4001", "private"},
		{"/ip4/100.64.0.1/tcp/4001", "carrier-grade NAT"},
		{"/ip4/100.127.255.254/tcp/4001", "carrier-grade NAT"},
		{"/ip4/169.254.169.254/tcp/80", "cloud metadata"},
		{"/ip4/169.254.1.1/tcp/4001", "link-local"},
		{"/ip4/224.0.0.1/udp/4001/quic-v1", "multicast"},
		{"/ip4/0.0.0.0/tcp/4001", "unspecified"},
		{"/ip4/0.1.2.3/tcp/4001", "unspecified"},
		{"/ip4/255.255.255.255/tcp/4001", "broadcast"},
		{"/ip4/240.0.0.1/tcp/4001", "reserved"},
		{"/ip6/::1/tcp/4001", "loopback"},
		{"/ip6/::/tcp/4001", "unspecified"},
		{"/ip6/fd12:3456::1/tcp/4001", "private"},
		{"/ip6/fc00::1/tcp/4001", "private"},
		{"/ip6/fd00:ec2::254/tcp/80", "cloud metadata"},
		{"/ip6/fe80::1/tcp/4001", "link-local"},
		{"/ip6/ff02::1/udp/4001/quic-v1", "multicast"},
		{"/ip6/::ffff:127.0.0.1/tcp/4001", "loopback"},
		{"/ip6/::ffff:10.0.0.1/tcp/4001", "private"},
		{"/ip6/64:ff9b::a00:1/tcp/4001", "private"},
		{"/ip6/64:ff9b::808:808/tcp/4001", ""},
		{"/ip6zone/eth0/ip6/fe80::1/tcp/4001", "zone-scoped"},
		{"/dns4/example.com/tcp/4001", "unresolved"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			err := dialable(ma.StringCast(tc.addr), false)
			if tc.why == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrAddrNotAllowed) || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("err = %v, want ErrAddrNotAllowed saying %q", err, tc.why)
			}
		})
	}
}

func TestValidateOrigins(t *testing.T) {
	const id = "12D3KooWGRUVh6o4M5wDmBpxCjixHKjJXJ6vkhDsxX6ihAs1F1vt"
	public := "/ip4/8.8.8.8/tcp/4001/p2p/" + id
	many := make([]string, 21)
	for i := range many {
		many[i] = public
	}
	gated := newTestNodeWith(t, Config{NoNetwork: true})
	open := newTestNodeWith(t, Config{NoNetwork: true, AllowPrivatePeers: true})
	for _, tc := range []struct {
		name      string
		origins   []string
		want      error // nil, ErrBadOrigin, or ErrAddrNotAllowed (which also wraps ErrBadOrigin)
		wantAllow error // the same with AllowPrivatePeers
	}{
		{"no origins are valid", nil, nil, nil},
		{"a public address with a peer id is valid", []string{public}, nil, nil},
		{"a peer id alone is valid", []string{"/p2p/" + id}, nil, nil},
		{"a host name is checked when it is dialled", []string{"/dns4/example.com/tcp/4001/p2p/" + id}, nil, nil},
		{"twenty origins are valid", many[:20], nil, nil},
		{"twenty-one origins are too many", many, ErrBadOrigin, ErrBadOrigin},
		{"an address without a peer id is refused", []string{"/ip4/8.8.8.8/tcp/4001"}, ErrBadOrigin, ErrBadOrigin},
		{"a malformed multiaddr is refused", []string{"/ip4/8.8.8.8/tcp/notaport/p2p/" + id}, ErrBadOrigin, ErrBadOrigin},
		{"an origin of 2 KB is refused", []string{public + strings.Repeat("/p2p-circuit", 200)}, ErrBadOrigin, ErrBadOrigin},
		{"loopback is refused", []string{"/ip4/127.0.0.1/tcp/4001/p2p/" + id}, ErrAddrNotAllowed, nil},
		{"IPv6 loopback is refused", []string{"/ip6/::1/tcp/4001/p2p/" + id}, ErrAddrNotAllowed, nil},
		{"/dns4/localhost is refused", []string{"/dns4/localhost/tcp/4001/p2p/" + id}, ErrAddrNotAllowed, nil},
		{"a name under .localhost is refused", []string{"/dns/app.LOCALHOST./tcp/4001/p2p/" + id}, ErrAddrNotAllowed, nil},
		{"a metadata address among public ones is refused", []string{public, "/ip4/169.254.169.254/tcp/80/p2p/" + id}, ErrAddrNotAllowed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []struct {
				n    *Node
				want error
			}{{gated, tc.want}, {open, tc.wantAllow}} {
				err := c.n.ValidateOrigins(tc.origins)
				switch {
				case c.want == nil && err != nil:
					t.Errorf("AllowPrivatePeers %v: err = %v, want none", c.n.allowPrivate, err)
				case c.want != nil && (!errors.Is(err, c.want) || !errors.Is(err, ErrBadOrigin)):
					t.Errorf("AllowPrivatePeers %v: err = %v, want %v", c.n.allowPrivate, err, c.want)
				}
			}
		})
	}
}

func TestAGatedNodeCannotFetchFromALoopbackPeer(t *testing.T) {
	src := newTestNode(t)
	root := addFile(t, src, ProfileV1, chachaReader(14, 2<<20))
	gated := newTestNodeWith(t, Config{})
	open := newTestNodeWith(t, Config{AllowPrivatePeers: true})

	t.Run("Connect refuses the loopback address before dialling", func(t *testing.T) {
		if err := gated.Connect(context.Background(), src.Addrs()[0]); !errors.Is(err, ErrAddrNotAllowed) {
			t.Fatalf("err = %v, want ErrAddrNotAllowed", err)
		}
	})
	t.Run("the host's gater refuses it too, and a name that resolves to it", func(t *testing.T) {
		pi, err := peer.AddrInfoFromString(src.Addrs()[0])
		if err != nil {
			t.Fatal(err)
		}
		port, err := pi.Addrs[0].ValueForProtocol(ma.P_TCP)
		if err != nil {
			t.Fatal(err)
		}
		byName := ma.StringCast("/dns4/localhost/tcp/" + port)
		for _, a := range []ma.Multiaddr{pi.Addrs[0], byName} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := gated.host.Connect(ctx, peer.AddrInfo{ID: pi.ID, Addrs: []ma.Multiaddr{a}})
			cancel()
			if err == nil || !strings.Contains(err.Error(), "gater disallows") {
				t.Errorf("dial %s: err = %v, want the gater's refusal", a, err)
			}
			gated.host.Peerstore().ClearAddrs(pi.ID)
		}
	})
	t.Run("a fetch from it fails and stores nothing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := gated.FetchDAG(ctx, root, src.Addrs()); err == nil {
			t.Fatal("fetched from a loopback peer")
		}
		if _, complete, err := gated.LocalDAG(context.Background(), root); err != nil || complete {
			t.Errorf("after the fetch: complete %v, %v; want nothing", complete, err)
		}
		if got := len(gated.Peers()); got != 0 {
			t.Errorf("%d peers connected", got)
		}
	})
	t.Run("with AllowPrivatePeers the same fetch works", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := open.FetchDAG(ctx, root, src.Addrs()); err != nil {
			t.Fatal(err)
		}
	})
}
