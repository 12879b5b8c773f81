package app

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/cluster"
	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

func openClusterApp(t *testing.T, dir, api string) *App {
	t.Helper()
	a, err := Open(context.Background(), Options{DataDir: dir, Create: true, Network: true,
		Node:        node.Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Offline: true},
		ClusterAPI:  cluster.Config{API: api},
		Replication: pinning.ClusterConfig{ReplicationMin: 2, ReplicationMax: 3, RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A port nothing listens on: a Cluster that is down (a real refusal, no
// mock of the Cluster's API).
func downClusterURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// With the Cluster down, a pin is recorded at once, its Cluster pin waits
// in the outbox with its failed attempts counted, and a restart keeps it.
func TestAPinWaitsInTheOutboxWhileTheClusterIsDownAndAcrossARestart(t *testing.T) {
	dir, api := t.TempDir(), downClusterURL(t)
	ctx := context.Background()
	a := openClusterApp(t, dir, api)
	if a.Cluster == nil {
		t.Fatal("no cluster client with ClusterAPI set")
	}
	acct, err := a.Service.CreateAccount(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := a.Store.AddPins([]store.Pin{{AccountID: acct.ID, CID: "bafkqaaa", Size: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("recording a pin took %v with the Cluster down", d)
	}
	var ops []store.ClusterOp
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ops, _ = a.Store.ClusterOutbox(0)
		if len(ops) == 1 && ops[0].Attempts >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox %+v: want one pin retried at least twice", ops)
		}
	}
	if ops[0].Op != store.ClusterPin || !strings.Contains(ops[0].LastError, "refused") {
		t.Fatalf("outbox entry %+v", ops[0])
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	b := openClusterApp(t, dir, api)
	defer b.Close(ctx)
	ops, _ = b.Store.ClusterOutbox(0)
	if len(ops) != 1 || ops[0].CID != "bafkqaaa" || ops[0].Attempts < 2 {
		t.Fatalf("after a restart the outbox holds %+v", ops)
	}
}

// Without a Cluster API nothing Cluster-related is opened, started,
// queued or reported.
func TestWithoutAClusterAPINothingClusterRelatedStarts(t *testing.T) {
	ctx := context.Background()
	a, err := Open(ctx, Options{DataDir: t.TempDir(), Create: true, Network: true,
		Node: node.Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Offline: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	if a.Cluster != nil {
		t.Fatal("a cluster client without ClusterAPI")
	}
	if _, ok := a.Service.ClusterStats(); ok {
		t.Fatal("the service reports a cluster")
	}
	if _, err := a.Service.Reconcile(ctx); err == nil {
		t.Fatal("Reconcile ran without a cluster")
	}
	acct, _ := a.Service.CreateAccount(ctx, "a")
	key, _, err := a.Service.CreateAPIKey(ctx, acct.ID, "k", []token.Scope{token.ScopePinsRead})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.AddPins([]store.Pin{{AccountID: acct.ID, CID: "bafkqaaa", Size: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	if ops, _ := a.Store.ClusterOutbox(0); len(ops) != 0 {
		t.Fatalf("queued %+v without a cluster", ops)
	}
	hs := httptest.NewServer(a.Server.Handler())
	defer hs.Close()
	for _, path := range []string{"/pins/bafkqaaa", "/psa/pins?cid=bafkqaaa"} {
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		raw, _ := json.Marshal(body)
		if resp.StatusCode != 200 || strings.Contains(string(raw), "replica") {
			t.Fatalf("GET %s: %d %s, want no replication fields", path, resp.StatusCode, raw)
		}
	}
}
