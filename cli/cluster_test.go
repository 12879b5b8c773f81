package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func clusterFlags(t *testing.T, args ...string) *serveFlags {
	t.Helper()
	f := &serveFlags{}
	fl := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f.register(fl)
	if err := fl.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestClusterFlags(t *testing.T) {
	// Without --cluster-api: no Cluster, and its options are refused.
	c, r, err := clusterFlags(t).cluster()
	if err != nil || c.API != "" || r.Evict || r.AckReplicas != 0 {
		t.Fatalf("defaults: %+v %+v %v", c, r, err)
	}
	if _, _, err := clusterFlags(t, "--ack-replicas", "2").cluster(); err == nil || !strings.Contains(err.Error(), "--cluster-api") {
		t.Fatalf("--ack-replicas without --cluster-api: %v", err)
	}
	c, r, err = clusterFlags(t, "--cluster-api", "http://127.0.0.1:9094", "--cluster-user", "u", "--cluster-password", "p",
		"--replication-min", "2", "--replication-max", "3", "--ack-replicas", "2", "--ack-timeout", "30s",
		"--cluster-reconcile-interval", "1m", "--local-retention", "0", "--local-cache-size", "64MiB").cluster()
	if err != nil {
		t.Fatal(err)
	}
	if c.API != "http://127.0.0.1:9094" || c.Username != "u" || c.Password != "p" || r.ReplicationMin != 2 || r.ReplicationMax != 3 ||
		r.AckReplicas != 2 || r.AckTimeout != 30*time.Second || r.ReconcileInterval != time.Minute ||
		!r.Evict || r.LocalRetention != 0 || r.LocalCacheBytes != 64<<20 {
		t.Fatalf("parsed %+v %+v", c, r)
	}
	for _, bad := range [][]string{
		{"--cluster-api", "127.0.0.1:9094"},
		{"--cluster-api", "http://x", "--cluster-user", "u", "--cluster-token", "t"},
		{"--cluster-api", "http://x", "--local-retention", "soon"},
	} {
		if _, _, err := clusterFlags(t, bad...).cluster(); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}
