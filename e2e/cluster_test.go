//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/cluster"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/token"
)

// psaStatus reads the caller's pins of c through the Pinning Service API.
func psaPins(t *testing.T, base, cred, c string) []map[string]any {
	t.Helper()
	q := "?limit=1000"
	if c != "" {
		q += "&cid=" + c
	}
	req, _ := http.NewRequest("GET", base+"/psa/pins"+q, nil)
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /psa/pins: %d %v", resp.StatusCode, err)
	}
	return out.Results
}

func psaDelete(t *testing.T, base, cred, id string) {
	t.Helper()
	req, _ := http.NewRequest("DELETE", base+"/psa/pins/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE /psa/pins/%s: %d", id, resp.StatusCode)
	}
}

// getJSON GETs url with cred and decodes the 200 answer into v.
func getJSON(t *testing.T, url, cred string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// pinStatus is GET /pins/{cid}.
func pinStatus(t *testing.T, base, cred, c string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/pins/"+c, nil)
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return out
}

func mustUpload(t *testing.T, n *ninja, cred string, data []byte) string {
	t.Helper()
	code, out := uploadFile(t, n.url, cred, data)
	c, _ := out["cid"].(string)
	if code != http.StatusOK || c == "" {
		t.Fatalf("upload: %d %v", code, out)
	}
	return c
}

// secondAccount makes another account with an upload and pins key.
func secondAccount(t *testing.T, n *ninja) string {
	ctx := context.Background()
	acct, err := n.app.Service.CreateAccount(ctx, "second")
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := n.app.Service.CreateAPIKey(ctx, acct.ID, "k", []token.Scope{token.ScopeUpload, token.ScopePinsRead, token.ScopePinsWrite})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// TestClusterReplication runs ninja in front of a three-peer IPFS Cluster
// (replication 2..2) and checks each part of issue 17 in turn on one rig.
func TestClusterReplication(t *testing.T) {
	rig := startClusterRig(t)
	n := startClusterNinja(t, rig, pinning.ClusterConfig{ReplicationMin: 2, ReplicationMax: 2})

	t.Run("UploadIsPinnedOnReplicationMinPeersAndServedByTheirKubo", func(t *testing.T) {
		data := randomBytes(t, 3<<20+123)
		c := mustUpload(t, n, n.key, data)
		var on []string
		poll(t, 2*time.Minute, "the Cluster to pin the upload on 2 peers", func() bool {
			on = rig.pinnedOn(c)
			return len(on) >= 2
		})
		for _, id := range on {
			p := rig.peerByID(id)
			got, code, err := clusterGatewayGet(p.gateway, c)
			if err != nil || code != 200 || !bytes.Equal(got, data) {
				t.Fatalf("peer %d's Kubo gateway: %d, %d bytes (%v), want the %d uploaded", p.i, code, len(got), err, len(data))
			}
		}
		// The Cluster pin carries ninja's marker and the request.
		st, err := rig.client(1).Status(t.Context(), c)
		if err != nil || st.Metadata["ninja"] != n.node.PeerID() || st.Metadata["account"] != n.acct {
			t.Fatalf("cluster pin metadata %v (%v)", st.Metadata, err)
		}
		// Status reports the replicas in every dialect that has a field.
		poll(t, 30*time.Second, "GET /pins/{cid} to report 2 replicas", func() bool {
			rep, _ := pinStatus(t, n.url, n.key, c)["replicas"].(map[string]any)
			return rep != nil && rep["count"] == float64(2) && len(rep["peers"].([]any)) == 2
		})
		info, _ := psaPins(t, n.url, n.key, c)[0]["info"].(map[string]any)
		if info["replicas"] != "2" || info["replica_peers"] == "" {
			t.Fatalf("PSA info %v, want replicas 2 and the peers", info)
		}
		var v3 struct {
			Data struct {
				Files []struct {
					Replicas struct{ Count int } `json:"replicas"`
				} `json:"files"`
			} `json:"data"`
		}
		getJSON(t, n.url+"/v3/files/public?cid="+c, n.key, &v3)
		if len(v3.Data.Files) != 1 || v3.Data.Files[0].Replicas.Count != 2 {
			t.Fatalf("Pinata v3 file list %+v, want replicas.count 2", v3)
		}
		var legacy struct {
			Rows []struct {
				Regions []struct {
					RegionID string `json:"regionId"`
					Current  int    `json:"currentReplicationCount"`
					Desired  int    `json:"desiredReplicationCount"`
				} `json:"regions"`
			} `json:"rows"`
		}
		getJSON(t, n.url+"/data/pinList?hashContains="+c, n.key, &legacy)
		if len(legacy.Rows) != 1 || len(legacy.Rows[0].Regions) != 1 || legacy.Rows[0].Regions[0].Current != 2 || legacy.Rows[0].Regions[0].Desired != 2 {
			t.Fatalf("Pinata pinList %+v, want one region with 2 of 2 copies", legacy)
		}
	})

	t.Run("APinByCIDIsReplicatedOnceNinjaHasFetchedIt", func(t *testing.T) {
		// A file only a Kubo outside the Cluster has, pinned through the
		// PSA with that Kubo as origin.
		src := startKubo(t)
		f := filepath.Join(t.TempDir(), "src")
		data := randomBytes(t, 1<<20+3)
		os.WriteFile(f, data, 0o600)
		c := src.run("add", "-q", "--cid-version", "1", f)
		origins, _ := json.Marshal(strings.Fields(src.run("id", "-f", "<addrs>")))
		req, _ := http.NewRequest("POST", n.url+"/psa/pins", strings.NewReader(`{"cid":"`+c+`","origins":`+string(origins)+`}`))
		req.Header.Set("Authorization", "Bearer "+n.key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST /psa/pins: %d", resp.StatusCode)
		}
		poll(t, 2*time.Minute, "the Cluster to pin the fetched CID on 2 peers", func() bool { return len(rig.pinnedOn(c)) >= 2 })
		on := rig.pinnedOn(c)
		got, code, err := clusterGatewayGet(rig.peerByID(on[0]).gateway, c)
		if err != nil || code != 200 || !bytes.Equal(got, data) {
			t.Fatalf("a Cluster peer's gateway: %d, %d bytes (%v)", code, len(got), err)
		}
	})

	t.Run("UnpinInNinjaUnpinsOnTheClusterOnlyAfterTheLastAccount", func(t *testing.T) {
		other := secondAccount(t, n)
		data := randomBytes(t, 1<<20+5)
		c := mustUpload(t, n, n.key, data)
		if c2 := mustUpload(t, n, other, data); c2 != c {
			t.Fatalf("same bytes, CIDs %s and %s", c, c2)
		}
		poll(t, 2*time.Minute, "the Cluster to pin it", func() bool { return len(rig.pinnedOn(c)) >= 2 })
		psaDelete(t, n.url, n.key, psaPins(t, n.url, n.key, c)[0]["requestid"].(string))
		// Give the outbox and a reconciliation time to do the wrong thing.
		time.Sleep(7 * time.Second)
		if !rig.inPinSet(c) {
			t.Fatal("the Cluster unpinned a CID another account still pins")
		}
		psaDelete(t, n.url, other, psaPins(t, n.url, other, c)[0]["requestid"].(string))
		poll(t, time.Minute, "the Cluster to unpin the CID after its last pin went", func() bool { return !rig.inPinSet(c) })
	})

	t.Run("AClusterOutageIsRidOutByTheOutboxAndTheReconcilerFindsNothingMissing", func(t *testing.T) {
		outage := time.Minute
		if v := os.Getenv("CLUSTER_OUTAGE"); v != "" {
			outage, _ = time.ParseDuration(v)
		}
		for _, p := range rig.peers {
			p.stop(t)
		}
		data := randomBytes(t, 2<<20+9)
		start := time.Now()
		c := mustUpload(t, n, n.key, data)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("an upload during the outage took %v", d)
		}
		poll(t, 10*time.Second, "the pin to wait in the outbox", func() bool {
			q, _ := n.app.Service.ClusterStats()
			return q >= 1
		})
		time.Sleep(outage - time.Since(start))
		if q, _ := n.app.Service.ClusterStats(); q < 1 {
			t.Fatalf("the outbox is empty after the outage: %d", q)
		}
		for _, p := range rig.peers {
			rig.start(p)
		}
		rig.waitFormed()
		poll(t, 2*time.Minute, "the outbox to drain", func() bool {
			q, _ := n.app.Service.ClusterStats()
			return q == 0
		})
		poll(t, 2*time.Minute, "the Cluster to pin the upload made during the outage", func() bool { return len(rig.pinnedOn(c)) >= 2 })
		repaired, err := n.app.Service.Reconcile(t.Context())
		if err != nil || repaired != 0 {
			t.Fatalf("the reconciler queued %d repairs (%v), want none", repaired, err)
		}
	})

	t.Run("TheReconcilerRepairsBothDirections", func(t *testing.T) {
		data := randomBytes(t, 512<<10)
		c := mustUpload(t, n, n.key, data)
		poll(t, 2*time.Minute, "the Cluster to pin it", func() bool { return rig.inPinSet(c) })
		// Someone unpins it behind ninja's back: the reconciler pins it again.
		if err := rig.client(2).Unpin(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		poll(t, time.Minute, "the reconciler to pin it again", func() bool { return len(rig.pinnedOn(c)) >= 2 })

		// A Cluster pin with this ninja's marker that no ninja pin holds
		// (its unpin lost, say) is unpinned; one without it (another user
		// of the Cluster) is left alone.
		add := func() string {
			f := filepath.Join(t.TempDir(), "x")
			os.WriteFile(f, randomBytes(t, 4096), 0o600)
			return rig.peers[1].kubo.run("add", "-q", "--cid-version", "1", f)
		}
		stray, foreign := add(), add()
		if _, err := rig.client(1).Pin(t.Context(), stray, cluster.PinOptions{Metadata: map[string]string{"ninja": n.node.PeerID()}}); err != nil {
			t.Fatal(err)
		}
		if _, err := rig.client(1).Pin(t.Context(), foreign, cluster.PinOptions{Metadata: map[string]string{"owner": "someone else"}}); err != nil {
			t.Fatal(err)
		}
		poll(t, time.Minute, "the reconciler to unpin the stray pin", func() bool { return !rig.inPinSet(stray) })
		if _, err := n.app.Service.Reconcile(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		if !rig.inPinSet(foreign) {
			t.Fatal("the reconciler unpinned a Cluster pin that is not ninja's")
		}
	})

	t.Run("AckReplicas", func(t *testing.T) {
		acked := startClusterNinja(t, rig, pinning.ClusterConfig{ReplicationMin: 2, ReplicationMax: 2, AckReplicas: 2, AckTimeout: 2 * time.Minute})
		c := mustUpload(t, acked, acked.key, randomBytes(t, 1<<20+17))
		if on := rig.pinnedOn(c); len(on) < 2 {
			t.Fatalf("--ack-replicas 2 answered with the CID on %v", on)
		}
		// Three copies of a replication-max 2 pin never come: 504, and the pin stays.
		never := startClusterNinja(t, rig, pinning.ClusterConfig{ReplicationMin: 2, ReplicationMax: 2, AckReplicas: 3, AckTimeout: 5 * time.Second})
		data := randomBytes(t, 256<<10)
		code, out := uploadFile(t, never.url, never.key, data)
		e, _ := out["error"].(map[string]any)
		if code != http.StatusGatewayTimeout || e["reason"] != "REPLICATION_TIMEOUT" {
			t.Fatalf("unreachable ack: %d %v, want 504 REPLICATION_TIMEOUT", code, out)
		}
		t.Logf("504 details: %v", e["details"])
		all := psaPins(t, never.url, never.key, "")
		if len(all) != 1 {
			t.Fatalf("after the timeout the account has %d pins, want the upload's", len(all))
		}
		root := all[0]["pin"].(map[string]any)["cid"].(string)
		if st := pinStatus(t, never.url, never.key, root); st["pinned"] != true {
			t.Fatalf("after the timeout the pin is %v, want it recorded", st)
		}
		poll(t, 2*time.Minute, "replication to go on after the timeout", func() bool { return len(rig.pinnedOn(root)) >= 2 })
	})

	t.Run("LocalRetentionZeroServesEvictedBlocksFromTheCluster", func(t *testing.T) {
		ev := startClusterNinja(t, rig, pinning.ClusterConfig{ReplicationMin: 2, ReplicationMax: 2, Evict: true, LocalRetention: 0})
		data := randomBytes(t, 2<<20+31)
		c := mustUpload(t, ev, ev.key, data)
		poll(t, 2*time.Minute, "ninja to record 2 replicas", func() bool {
			rep, _ := pinStatus(t, ev.url, ev.key, c)["replicas"].(map[string]any)
			return rep != nil && rep["count"] == float64(2)
		})
		res, err := ev.app.Service.CollectGarbage(t.Context())
		if err != nil || res.Blocks == 0 {
			t.Fatalf("gc: %+v %v, want the upload's blocks evicted", res, err)
		}
		root, _ := cid.Decode(c)
		if has, _ := ev.node.Has(t.Context(), root); has {
			t.Fatal("the root block is still local after eviction")
		}
		got, code, err := clusterGatewayGet(ev.url, c)
		if err != nil || code != 200 || !bytes.Equal(got, data) {
			t.Fatalf("ninja's gateway after eviction: %d, %d bytes (%v)", code, len(got), err)
		}
		// Only pinned CIDs are fetched back: a CID that a Cluster peer's
		// Kubo holds but no ninja pin names is not served.
		f := filepath.Join(t.TempDir(), "other")
		os.WriteFile(f, randomBytes(t, 1000), 0o600)
		other := rig.peers[0].kubo.run("add", "-q", "--cid-version", "1", f)
		if _, code, _ := clusterGatewayGet(ev.url, other); code == 200 {
			t.Fatal("the gateway served a CID no pin names")
		}
	})
}
