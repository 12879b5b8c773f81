//go:build e2e

package e2e

// The IPFS Cluster rig: three Kubo v0.43.0 daemons and three
// ipfs-cluster-service v1.1.6 peers (CRDT consensus), each peer driving
// its own Kubo, all on loopback with fresh repositories and a fresh
// cluster secret. CLUSTER_DIR holds the Cluster binaries (`make cluster`),
// KUBO_BIN the Kubo one (`make kubo`).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/cluster"
	"github.com/ninja-ipfs/ninja/pinning"
)

type clusterRig struct {
	t     *testing.T
	bin   string // ipfs-cluster-service
	peers []*clusterPeer
}

type clusterPeer struct {
	i       int
	dir     string // the peer's config directory
	id      string // cluster peer id
	swarm   string // cluster libp2p multiaddr, with /p2p/
	rest    string // REST API base URL
	kubo    *kubo
	gateway string // the Kubo's gateway base URL

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *syncBuffer
}

func startClusterRig(t *testing.T) *clusterRig {
	t.Helper()
	dir := os.Getenv("CLUSTER_DIR")
	if dir == "" {
		t.Skip("CLUSTER_DIR is not set (make cluster builds ipfs-cluster v1.1.6)")
	}
	bin := filepath.Join(dir, "ipfs-cluster-service")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("CLUSTER_DIR: %v", err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	r := &clusterRig{t: t, bin: bin}
	for i := range 3 {
		gw := freePort(t)
		k := startKubo(t,
			[]string{"--json", "Addresses.API", strconv.Quote(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t)))},
			[]string{"--json", "Addresses.Gateway", strconv.Quote(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", gw))})
		p := &clusterPeer{i: i, dir: t.TempDir(), kubo: k, gateway: fmt.Sprintf("http://127.0.0.1:%d", gw), log: &syncBuffer{}}
		r.initPeer(p, hex.EncodeToString(secret))
		r.peers = append(r.peers, p)
	}
	t.Cleanup(func() {
		for _, p := range r.peers {
			p.stop(t)
		}
		if t.Failed() {
			for _, p := range r.peers {
				t.Logf("cluster peer %d log (tail):\n%s", p.i, tail(p.log.String(), 4000))
			}
		}
	})
	for _, p := range r.peers {
		r.start(p)
	}
	r.waitFormed()
	return r
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// initPeer writes a peer's configuration: its own ports, its Kubo's API,
// fast metrics (so allocations work seconds after the start), only the
// REST API.
func (r *clusterRig) initPeer(p *clusterPeer, secret string) {
	t := r.t
	cmd := exec.Command(r.bin, "--config", p.dir, "init", "--consensus", "crdt")
	cmd.Env = append(os.Environ(), "CLUSTER_SECRET="+secret)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ipfs-cluster-service init: %v\n%s", err, out)
	}
	path := filepath.Join(p.dir, "service.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	obj := func(m map[string]any, k string) map[string]any { return m[k].(map[string]any) }
	swarm, rest := freePort(t), freePort(t)
	c := obj(cfg, "cluster")
	c["peername"] = fmt.Sprintf("peer%d", p.i)
	c["listen_multiaddress"] = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", swarm)}
	c["monitor_ping_interval"] = "2s"
	c["peer_watch_interval"] = "2s"
	c["mdns_interval"] = "0s"
	c["dial_peer_timeout"] = "2s"
	api := obj(cfg, "api")
	delete(api, "ipfsproxy")
	delete(api, "pinsvcapi")
	obj(api, "restapi")["http_listen_multiaddress"] = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", rest)
	obj(obj(cfg, "ipfs_connector"), "ipfshttp")["node_multiaddress"] = p.kubo.apiAddr(t)
	inf := obj(cfg, "informer")
	for _, k := range []string{"disk", "pinqueue", "tags"} {
		obj(inf, k)["metric_ttl"] = "4s"
	}
	out, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	var id struct {
		ID string `json:"id"`
	}
	raw, err = os.ReadFile(filepath.Join(p.dir, "identity.json"))
	if err != nil || json.Unmarshal(raw, &id) != nil {
		t.Fatalf("identity.json: %v", err)
	}
	p.id = id.ID
	p.swarm = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", swarm, id.ID)
	p.rest = fmt.Sprintf("http://127.0.0.1:%d", rest)
}

// apiAddr is the Kubo's RPC API multiaddr, from its configuration.
func (k *kubo) apiAddr(t *testing.T) string {
	return k.run("config", "Addresses.API")
}

// start runs the peer's daemon, bootstrapping to peer 0.
func (r *clusterRig) start(p *clusterPeer) {
	t := r.t
	args := []string{"--config", p.dir, "daemon"}
	if p.i > 0 {
		args = append(args, "--bootstrap", r.peers[0].swarm)
	}
	cmd := exec.Command(r.bin, args...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	poll(t, time.Minute, fmt.Sprintf("cluster peer %d's REST API", p.i), func() bool {
		resp, err := http.Get(p.rest + "/id")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// stop interrupts the peer's daemon and waits for it.
func (p *clusterPeer) stop(t *testing.T) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// waitFormed waits until every peer sees the other two and has the
// free-space metric of all three (what the allocator needs).
func (r *clusterRig) waitFormed() {
	for _, p := range r.peers {
		poll(r.t, 2*time.Minute, fmt.Sprintf("cluster peer %d to see 3 peers with metrics", p.i), func() bool {
			var ms []json.RawMessage
			resp, err := http.Get(p.rest + "/monitor/metrics/freespace")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			if json.NewDecoder(resp.Body).Decode(&ms) != nil {
				return false
			}
			return len(ms) == 3
		})
	}
}

// client is a REST client of peer i.
func (r *clusterRig) client(i int) *cluster.Client {
	c, err := cluster.New(cluster.Config{API: r.peers[i].rest})
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// pinnedOn returns the peers that report cid pinned (nil when the
// Cluster does not hold it).
func (r *clusterRig) pinnedOn(cid string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := r.client(0).Status(ctx, cid)
	if err != nil {
		return nil
	}
	return st.Pinned()
}

// inPinSet reports whether the Cluster's shared state holds cid.
func (r *clusterRig) inPinSet(cid string) bool {
	found := false
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.client(0).Allocations(ctx, func(p cluster.Pin) error {
		if p.CID == cid {
			found = true
		}
		return nil
	})
	if err != nil {
		r.t.Logf("allocations: %v", err)
	}
	return found
}

// peerByID returns the rig's peer with cluster peer id id.
func (r *clusterRig) peerByID(id string) *clusterPeer {
	for _, p := range r.peers {
		if p.id == id {
			return p
		}
	}
	return nil
}

// startClusterNinja is startNinja replicating to the rig through peer
// 0's REST API; repl's zero fields get test-sized defaults.
func startClusterNinja(t *testing.T, r *clusterRig, repl pinning.ClusterConfig) *ninja {
	t.Helper()
	if repl.ReconcileInterval == 0 {
		repl.ReconcileInterval = 5 * time.Second
	}
	if repl.RetryMax == 0 {
		repl.RetryMin, repl.RetryMax = 500*time.Millisecond, 3*time.Second
	}
	logw := &syncBuffer{}
	n := startNinjaWith(t, nil, func(o *app.Options) {
		o.ClusterAPI = cluster.Config{API: r.peers[0].rest}
		o.Replication = repl
		o.Logger = slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ninja log (tail):\n%s", tail(logw.String(), 6000))
		}
	})
	return n
}

// uploadFile posts data to /upload with cred and returns the status and
// the decoded answer.
func uploadFile(t *testing.T, base, cred string, data []byte) (int, map[string]any) {
	t.Helper()
	req, ct := multipartBody(t, "file", "blob.bin", data)
	r, err := http.NewRequest("POST", base+"/upload", req)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+cred)
	r.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// multipartBody streams one file part without holding a second copy.
func multipartBody(t *testing.T, field, name string, data []byte) (io.Reader, string) {
	var head bytes.Buffer
	boundary := "ninjaclusterboundary"
	fmt.Fprintf(&head, "--%s\r\nContent-Disposition: form-data; name=%q; filename=%q\r\nContent-Type: application/octet-stream\r\n\r\n", boundary, field, name)
	tailB := fmt.Sprintf("\r\n--%s--\r\n", boundary)
	return io.MultiReader(&head, bytes.NewReader(data), bytes.NewReader([]byte(tailB))), "multipart/form-data; boundary=" + boundary
}

// gatewayGet reads base/ipfs/cid.
func clusterGatewayGet(base, cid string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/ipfs/"+cid, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}
