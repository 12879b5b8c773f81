package bench

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSmallUploadsAtScale measures what a 4 KiB upload costs the
// server, in CPU time (utime+stime of the process over the uploads) and
// throughput, with 10k and with 1M pin records already in the database:
// 32 concurrent clients, 2048 uploads, each durably pinned. Target (the
// performance issue's): the CPU per upload at 1M within 1.5x of that at
// 10k. The records are bulk-loaded as in BenchmarkStart1MPins (not part of
// the metric); the server restarts on them with a warm page cache.
func BenchmarkSmallUploadsAtScale(b *testing.B) {
	perUpload := map[int]float64{}
	for _, pins := range []int{10_000, manyPins} {
		b.Run(fmt.Sprintf("pins=%d", pins), func(b *testing.B) {
			data, key, real := seededDataDir(b)
			if err := addManyPins(data, real, pins); err != nil {
				b.Fatal(err)
			}
			srv := startNinja(b, data, &key)
			defer srv.stop()
			var seq atomic.Uint64
			seq.Store(3 << 40)
			b.ResetTimer()
			var cpu, secs float64
			for i := 0; i < b.N; i++ {
				cpu0, t0 := srv.cpuSeconds(b), time.Now()
				if err := smallBurst(srv, &seq); err != nil {
					b.Fatalf("small upload at %d pins: %v\n%s", pins, err, srv.tail())
				}
				secs += time.Since(t0).Seconds()
				cpu += srv.cpuSeconds(b) - cpu0
			}
			b.StopTimer()
			n := float64(b.N * smallPerOp)
			ms := cpu / n * 1000
			perUpload[pins] = ms
			b.ReportMetric(ms, "cpu-ms/upload")
			b.ReportMetric(n/secs, "uploads/s")
			b.Logf("%d pins: %.2f ms of server CPU per upload, %.0f uploads/s", pins, ms, n/secs)
		})
	}
	if lo, hi := perUpload[10_000], perUpload[manyPins]; lo > 0 && hi > 0 {
		verdict := "met"
		if hi/lo > 1.5 {
			verdict = "NOT met"
		}
		b.Logf("CPU per upload at %d pins / at 10k: %.2fx (target <= 1.5x: %s)", manyPins, hi/lo, verdict)
	}
}
