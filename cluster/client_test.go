package cluster

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"
)

// The query is what ipfs-cluster v1.1.6's PinOptions.FromQuery reads
// (api/types.go): replication-min/max, name, meta-KEY, origins
// comma-separated.
func TestPinOptionsQueryIsTheClustersForm(t *testing.T) {
	q := PinOptions{ReplicationMin: 2, ReplicationMax: 3, Name: "a b", Origins: []string{"/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWA", "/ip4/1.2.3.4/udp/4001/quic-v1/p2p/12D3KooWA"},
		Metadata: map[string]string{"ninja": "12D3KooWB", "account": "acc_1"}}.query()
	want := url.Values{"replication-min": {"2"}, "replication-max": {"3"}, "name": {"a b"},
		"origins":    {"/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWA,/ip4/1.2.3.4/udp/4001/quic-v1/p2p/12D3KooWA"},
		"meta-ninja": {"12D3KooWB"}, "meta-account": {"acc_1"}}
	if q.Encode() != want.Encode() {
		t.Fatalf("query %s, want %s", q.Encode(), want.Encode())
	}
	if q := (PinOptions{}).query(); len(q) != 0 {
		t.Fatalf("default options send %v; the Cluster's defaults should apply", q)
	}
}

// Status decodes a GlobalPinInfo as the REST API sends it (a sample of
// v1.1.6's GET /pins/{cid} answer) and counts only peers reporting pinned.
func TestStatusCountsPinnedPeers(t *testing.T) {
	raw := `{"cid":"bafkqaaa","name":"x","allocations":["p1","p2"],"origins":[],"created":"2026-12-02T14:25:00Z","metadata":{"ninja":"me"},
	"peer_map":{"p1":{"peername":"peer0","ipfs_peer_id":"k1","ipfs_peer_addresses":["/ip4/127.0.0.1/tcp/4001/p2p/k1"],"status":"pinned","timestamp":"2026-12-02T14:25:01Z","error":"","attempt_count":0,"priority_pin":false},
	"p2":{"peername":"peer1","ipfs_peer_id":"k2","status":"pinning","timestamp":"2026-12-02T14:25:01Z","error":""},
	"p3":{"peername":"peer2","ipfs_peer_id":"k3","status":"remote","timestamp":"2026-12-02T14:25:01Z","error":""}}}`
	var s Status
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	if got := s.Pinned(); !slices.Equal(got, []string{"p1"}) || s.Metadata["ninja"] != "me" || s.PeerMap["p1"].IPFSAddr[0] == "" {
		t.Fatalf("pinned %v, status %+v", got, s)
	}
}
