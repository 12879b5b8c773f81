package server

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/ninja-ipfs/ninja/pinning"
)

func TestOneAddressRunsAtMostItsShareOfGatewayRequests(t *testing.T) {
	s := newAddrSlots(3)
	a, b := netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("2001:db8::1")
	var releases []func()
	for range 3 {
		rel, err := s.acquire(a)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, rel)
	}
	if _, err := s.acquire(a); !errors.Is(err, pinning.ErrRateLimited) || toAPIError(err).Status != 429 {
		t.Fatalf("a fourth request from one address: %v, want 429 RATE_LIMITED", err)
	}
	if _, err := s.acquire(b); err != nil {
		t.Fatalf("another address is not capped by the first's requests: %v", err)
	}
	releases[0]()
	if _, err := s.acquire(a); err != nil {
		t.Fatalf("after one finished: %v", err)
	}
	if len(s.busy) != 2 {
		t.Fatalf("%d addresses tracked, want 2", len(s.busy))
	}
}
