//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/pinning"
)

// TestClusterMeasure measures what docs/scale-out.md reports: ninja's
// upload throughput without a Cluster, with one (replication 2..2), and
// with --ack-replicas 2, and the time from the start of an upload to the
// Cluster reporting it pinned on replication-min (2) peers, for a 100 MiB
// file, 5 rounds each, medians logged. It runs only with CLUSTER_MEASURE=1
// (`CLUSTER_MEASURE=1 go test -tags e2e ./e2e/ -run ClusterMeasure -v`),
// since it moves about 1 GiB; without -race for numbers users would see.
func TestClusterMeasure(t *testing.T) {
	if os.Getenv("CLUSTER_MEASURE") == "" {
		t.Skip("set CLUSTER_MEASURE=1 to measure")
	}
	const size = 100 << 20
	const rounds = 5
	rig := startClusterRig(t)
	plain := startNinja(t)
	withCluster := startClusterNinja(t, rig, pinning.ClusterConfig{ReplicationMin: 2, ReplicationMax: 2})
	acked := startClusterNinja(t, rig, pinning.ClusterConfig{ReplicationMin: 2, ReplicationMax: 2, AckReplicas: 2, AckTimeout: 10 * time.Minute})

	mibps := func(d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }
	median := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	upload := func(n *ninja) (string, time.Duration, time.Time) {
		data := randomBytes(t, size)
		start := time.Now()
		code, out := uploadFile(t, n.url, n.key, data)
		d := time.Since(start)
		if code != http.StatusOK {
			t.Fatalf("upload: %d %v", code, out)
		}
		return out["cid"].(string), d, start
	}
	// The three kinds take turns within each round, so a noisy neighbour
	// on the machine (it is shared) weighs on each about equally.
	var plainD, clusterD, ackD, replD, afterAckD []time.Duration
	for range rounds {
		_, d, _ := upload(plain)
		plainD = append(plainD, d)

		c, d, start := upload(withCluster)
		clusterD = append(clusterD, d)
		done := time.Now()
		poll(t, 10*time.Minute, "replication-min", func() bool { return len(rig.pinnedOn(c)) >= 2 })
		replD = append(replD, time.Since(start))
		afterAckD = append(afterAckD, time.Since(done))

		c, d, _ = upload(acked)
		ackD = append(ackD, d)
		if len(rig.pinnedOn(c)) < 2 {
			t.Fatal("--ack-replicas 2 answered before two peers held the pin")
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	report := fmt.Sprintf(`100 MiB file, %d rounds, medians (load average after: %s; all runs: %v / %v / %v / %v):
  upload without a Cluster:                 %v (%.0f MiB/s)
  upload with the Cluster (2xx, no wait):   %v (%.0f MiB/s)
  upload to replication-min (2 peers):      %v from the upload's start, %v after its 2xx
  upload with --ack-replicas 2 (2xx):       %v (%.0f MiB/s)`,
		rounds, strings.TrimSpace(string(load)), plainD, clusterD, replD, ackD,
		median(plainD), mibps(median(plainD)), median(clusterD), mibps(median(clusterD)),
		median(replD), median(afterAckD), median(ackD), mibps(median(ackD)))
	t.Log(report)
}
