package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	tusSize = 2 << 30
	tusSeed = 13
	// tusRatio is the target: a tus upload at >= 80% of a
	// multipart upload's throughput in the same run.
	tusRatio = 0.8
)

// BenchmarkTusLargeFile uploads 2 GiB of new content to a fresh ninja
// twice: once as one streaming multipart POST, once as a tus upload (a
// creation, then the whole file in one PATCH, as tus-js-client and Uppy
// send it by default; then, in chunked, in Pinata's 50 MiB chunks). Each
// runs on its own server so its peak RSS (VmHWM) is its own. It reports
// MB/s, the server's CPU seconds per GiB (utime+stime of the process) and
// its peak RSS, and checks that all give the same CID.
func BenchmarkTusLargeFile(b *testing.B) {
	kinds := []struct {
		name  string
		chunk int64 // 0: multipart; tusSize: one PATCH
	}{{"multipart", 0}, {"tus", tusSize}, {"tus-chunked", 50<<20 + 1}}
	type result struct {
		mbps, cpu, rss float64
		cid            string
	}
	got := map[string]result{}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			var key string
			srv := startNinja(b, filepath.Join(b.TempDir(), "data"), &key)
			var elapsed time.Duration
			var cpu float64
			var c string
			for i := 0; i < b.N; i++ {
				// Each kind has a server of its own: the same bytes for all, a
				// new seed per extra iteration.
				seed := tusSeed + uint64(i)*10000
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
				cpu0 := srv.cpuSeconds(b)
				t0 := time.Now()
				var err error
				if k.chunk == 0 {
					c, err = srv.upload(ctx, "large.bin", chachaReader(seed, tusSize))
				} else {
					c, err = tusUpload(ctx, srv.gateway, key, chachaReader(seed, tusSize), tusSize, k.chunk)
				}
				elapsed += time.Since(t0)
				cpu += srv.cpuSeconds(b) - cpu0
				cancel()
				if err != nil {
					b.Fatalf("%s: %v\n%s", k.name, err, srv.tail())
				}
			}
			r := result{
				mbps: float64(b.N) * tusSize / 1e6 / elapsed.Seconds(),
				cpu:  cpu / float64(b.N) / (tusSize >> 30),
				rss:  float64(srv.peakRSS(b)) / (1 << 20),
				cid:  c,
			}
			b.ReportMetric(r.mbps, "MB/s")
			b.ReportMetric(r.cpu, "cpu-s/GiB")
			b.ReportMetric(r.rss, "peak-rss-MiB")
			got[k.name] = r
		})
	}
	m, ok := got["multipart"]
	if !ok {
		return
	}
	for _, name := range []string{"tus", "tus-chunked"} {
		t, ok := got[name]
		if !ok {
			continue
		}
		if t.cid != m.cid {
			b.Errorf("%s gave %s, multipart %s for the same 2 GiB", name, t.cid, m.cid)
		}
		verdict := func(ok bool) string {
			if ok {
				return "met"
			}
			return "NOT met"
		}
		b.Logf("%s: %.0f MB/s, multipart %.0f MB/s: %.2fx (target >= %.1fx: %s); server CPU %.2f s/GiB (multipart %.2f); peak RSS %.0f MiB (target <= %d MiB: %s)",
			name, t.mbps, m.mbps, t.mbps/m.mbps, tusRatio, verdict(t.mbps >= tusRatio*m.mbps), t.cpu, m.cpu, t.rss, maxRSS>>20, verdict(t.rss <= maxRSS>>20))
	}
}

// tusUpload sends size bytes of r as one tus upload in PATCHes of chunk
// bytes (each with its Content-Length, streamed, never held in memory) and
// returns the Upload-CID of the last.
func tusUpload(ctx context.Context, base, key string, r io.Reader, size, chunk int64) (string, error) {
	do := func(method, url string, body io.Reader, n int64, h map[string]string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, method, url, body)
		if err != nil {
			return nil, err
		}
		if body != nil {
			req.ContentLength = n
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Tus-Resumable", "1.0.0")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return nil, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, msg)
		}
		return resp, nil
	}
	resp, err := do("POST", base+"/tus/", nil, 0, map[string]string{"Upload-Length": strconv.FormatInt(size, 10),
		"Upload-Metadata": "filename bGFyZ2UuYmlu"}) // large.bin
	if err != nil {
		return "", err
	}
	loc := resp.Header.Get("Location")
	for off := int64(0); off < size; off += chunk {
		n := min(chunk, size-off)
		resp, err = do("PATCH", loc, io.LimitReader(r, n), n, map[string]string{
			"Content-Type": "application/offset+octet-stream", "Upload-Offset": strconv.FormatInt(off, 10)})
		if err != nil {
			return "", err
		}
	}
	if c := resp.Header.Get("Upload-CID"); c != "" {
		return c, nil
	}
	return "", fmt.Errorf("the last PATCH has no Upload-CID")
}

// cpuSeconds is the process's user and system CPU time so far.
func (p *proc) cpuSeconds(b *testing.B) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ")".
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}
