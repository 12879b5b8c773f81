package store

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The store at scale (design.md §7, issue 10 item 6):
//
//	go test -run '^$' -bench . -benchtime 1x ./store/          10k, 100k and 1M pins
//	go test -run '^$' -bench . -benchtime 1x -short ./store/   10k and 100k
//
// Each size builds one account with that many pins (ImportPins), 100,000
// upload tokens and ten events per pin over the last 30 days (so 10M at 1M
// pins), then times each query benchQueryReps times. The metrics that
// matter are the custom ones, per query: ms/query (wall) and cpu-ms/query
// (process CPU from getrusage, which also counts the GC); ns/op is the
// whole repetition. The machine is shared, so cpu-ms is the steadier one.

var benchSizes = []int{10_000, 100_000, 1_000_000}

const (
	benchTokens     = 100_000
	benchEventRatio = 10 // events per pin
	benchQueryReps  = 20
)

// benchEnv is a built store and the values its queries ask for.
type benchEnv struct {
	s      *Store
	path   string
	acct   string
	now    time.Time
	n      int
	sample struct {
		mid       time.Time // created time of the pin half way
		name, cid string
		cred      string
		prefix    string
	}
}

// benchCID is a CIDv1-sized string whose order is random, as real CIDs'.
func benchCID(i int) string {
	h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
	return "bafkrei" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:]))[:52]
}

func buildBench(b *testing.B, n int) *benchEnv {
	b.Helper()
	e := &benchEnv{n: n, now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	e.path = filepath.Join(b.TempDir(), "ninja.db")
	now := func() time.Time { return e.now }
	s, err := Open(e.path, Options{Now: now, NoSync: true, PruneInterval: -1, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	e.s = s
	a, _ := s.CreateAccount("bench")
	e.acct = a.ID
	start, cpu0 := time.Now(), cpuTime()
	tokens := buildTokens(b, e)
	b.Logf("pins=%d: %d tokens in %v", n, benchTokens, time.Since(start).Round(time.Millisecond))
	start, cpu0 = time.Now(), cpuTime()
	buildPins(b, e, tokens)
	b.Logf("pins=%d: import in %v, %.1f µs CPU per pin", n, time.Since(start).Round(time.Millisecond),
		float64(cpuTime()-cpu0)/float64(n)/1e3)
	start, cpu0 = time.Now(), cpuTime()
	events := buildEvents(b, e, tokens)
	b.Logf("pins=%d: %d events in %v, %.2f µs CPU per event", n, events, time.Since(start).Round(time.Millisecond),
		float64(cpuTime()-cpu0)/float64(events)/1e3)
	return e
}

// buildTokens writes the upload tokens 5000 per transaction and returns
// the first hundred, which make the pins.
func buildTokens(b *testing.B, e *benchEnv) []Token {
	k, err := e.s.CreateAPIKey(APIKey{AccountID: e.acct, Prefix: "bws_bench", Hash: []byte("bench-key")})
	if err != nil {
		b.Fatal(err)
	}
	var first []Token
	for start := 0; start < benchTokens; start += 5000 {
		err := e.s.update(func(tx *bolt.Tx) error {
			for i := start; i < min(start+5000, benchTokens); i++ {
				t := Token{ID: fmt.Sprintf("tok_%016x", i), AccountID: e.acct, KeyID: k.ID, Prefix: fmt.Sprintf("sup_%08x", i),
					Hash: []byte(fmt.Sprint("bench-token-", i)), Created: e.now.Add(-time.Duration(benchTokens-i) * time.Second),
					ExpiresAt: e.now.Add(time.Duration(i) * time.Second), MaxUploads: 100}
				if err := createToken(tx, &t); err != nil {
					return err
				}
				if i < 100 {
					first = append(first, t)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return first
}

var benchMimes = []string{"image/jpeg", "image/jpeg", "image/png", "application/pdf", "text/plain", "video/mp4"}

// buildPins imports the pins 10,000 at a time, created about a millisecond
// apart and ending now, 2% of them a CID already pinned.
func buildPins(b *testing.B, e *benchEnv, tokens []Token) {
	rng := rand.New(rand.NewPCG(1, uint64(e.n)))
	at := e.now.Add(-time.Duration(e.n) * time.Millisecond)
	statuses := []string{StatusQueued, StatusPinning, StatusFailed}
	for start := 0; start < e.n; start += 10_000 {
		pins := make([]Pin, 0, 10_000)
		for i := start; i < min(start+10_000, e.n); i++ {
			at = at.Add(time.Duration(rng.Int64N(int64(2 * time.Millisecond))))
			cid := i
			if rng.IntN(50) == 0 && i > 0 {
				cid = rng.IntN(i)
			}
			tok := tokens[i%len(tokens)]
			p := Pin{AccountID: e.acct, KeyID: tok.KeyID, CredentialID: tok.ID, Prefix: tok.Prefix, CID: benchCID(cid),
				Name: fmt.Sprintf("IMG_%05d.jpg", rng.IntN(50_000)), MimeType: benchMimes[rng.IntN(len(benchMimes))],
				Size: 1000 + rng.Int64N(1<<20), Status: StatusPinned, Created: at,
				Metadata: map[string]string{"n": fmt.Sprint(i % 1000)}}
			p.DagSize = p.Size + 100
			if rng.IntN(2) == 0 {
				p.Metadata["app"] = "gallery"
			}
			if rng.IntN(100) < 3 {
				p.Status = statuses[rng.IntN(len(statuses))]
			}
			pins = append(pins, p)
		}
		if err := e.s.ImportPins(pins); err != nil {
			b.Fatal(err)
		}
		if start <= e.n/2 && e.n/2 < start+len(pins) {
			p := pins[e.n/2-start]
			e.sample.mid, e.sample.name, e.sample.cid = p.Created, p.Name, p.CID
			e.sample.cred, e.sample.prefix = p.CredentialID, p.Prefix
		}
	}
}

// buildEvents records benchEventRatio events per pin over the last 30
// days, through the batch writer, and returns how many.
func buildEvents(b *testing.B, e *benchEnv, tokens []Token) int {
	rng := rand.New(rand.NewPCG(2, uint64(e.n)))
	total := e.n * benchEventRatio
	span := int64(30 * 24 * time.Hour)
	batch := make([]Event, 0, eventBatch)
	for i := range total {
		tok := tokens[rng.IntN(len(tokens))]
		ago := time.Duration(float64(span) * float64(total-i) / float64(total)) // oldest first
		ev := Event{Time: e.now.Add(-ago), AccountID: e.acct, KeyID: tok.KeyID,
			TokenID: tok.ID, Prefix: tok.Prefix}
		switch r := rng.IntN(100); {
		case r < 50:
			ev.Endpoint, ev.Status, ev.Bytes, ev.MimeType = "POST /upload", 200, 1000+rng.Int64N(1<<20), benchMimes[rng.IntN(len(benchMimes))]
		case r < 55:
			ev.Endpoint, ev.Status, ev.Reason = "POST /upload", 413, "SIZE_EXCEEDED"
		case r < 90:
			ev.Endpoint, ev.Status = "GET /psa/pins", 200
		default:
			ev = Event{Time: ev.Time, Endpoint: "GET /ipfs/", Status: 200, GatewayBytes: 1 + rng.Int64N(1<<20), CID: benchCID(rng.IntN(e.n))}
		}
		batch = append(batch, ev)
		if len(batch) == eventBatch || i == total-1 {
			if err := e.s.writeEvents(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return total
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func cpuTime() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// measure runs fn benchQueryReps times per iteration and reports the
// per-query wall and CPU time.
func measure(b *testing.B, fn func() error) {
	b.Helper()
	if err := fn(); err != nil { // warm, and fail fast
		b.Fatal(err)
	}
	var wall, cpu time.Duration
	for b.Loop() {
		start, cpu0 := time.Now(), cpuTime()
		for range benchQueryReps {
			if err := fn(); err != nil {
				b.Fatal(err)
			}
		}
		wall += time.Since(start)
		cpu += cpuTime() - cpu0
	}
	q := float64(b.N * benchQueryReps)
	b.ReportMetric(float64(wall.Microseconds())/q/1e3, "ms/query")
	b.ReportMetric(float64(cpu.Microseconds())/q/1e3, "cpu-ms/query")
}

func BenchmarkStore(b *testing.B) {
	for _, n := range benchSizes {
		if testing.Short() && n > 100_000 {
			continue
		}
		b.Run(fmt.Sprintf("pins=%d", n), func(b *testing.B) {
			e := buildBench(b, n)
			benchQueries(b, e)
			benchScale(b, e)
		})
	}
}

func benchQueries(b *testing.B, e *benchEnv) {
	pinned := []string{StatusPinned}
	list := func(f PinFilter, want func(pins []Pin, total int) bool) func() error {
		return func() error {
			pins, total, err := e.s.ListPins(e.acct, f)
			if err == nil && !want(pins, total) {
				err = fmt.Errorf("%+v: %d pins, total %d", f, len(pins), total)
			}
			return err
		}
	}
	some := func(pins []Pin, total int) bool { return len(pins) > 0 && total >= len(pins) }
	for _, q := range []struct {
		name string
		fn   func() error
	}{
		{"psa-first-page", list(PinFilter{Status: pinned, Limit: 10}, some)},
		{"upload-list-first-page", list(PinFilter{Limit: 100}, some)},
		{"psa-deep-page-before", list(PinFilter{Status: pinned, Limit: 10, Before: e.sample.mid}, some)},
		{"name-exact", list(PinFilter{Name: e.sample.name, Status: pinned, Limit: 10}, some)},
		{"cid", list(PinFilter{CIDs: []string{e.sample.cid}, Status: pinned, Limit: 10}, some)},
		{"status-queued", list(PinFilter{Status: []string{StatusQueued}, Limit: 10}, some)},
		{"mime-and-status", list(PinFilter{MimeType: "image/png", Status: pinned, Limit: 10}, some)},
		{"credential-ascending-after", list(PinFilter{CredentialID: e.sample.cred, Ascending: true, After: e.sample.mid, Limit: 10}, some)},
		{"meta-rare", list(PinFilter{Meta: map[string]string{"n": "42"}, Status: pinned, Limit: 10}, some)},
		{"meta-half", list(PinFilter{Meta: map[string]string{"app": "gallery"}, Status: pinned, Limit: 10}, some)},
		{"mime-and-credential-walk", list(PinFilter{MimeType: "image/png", CredentialID: e.sample.cred, Limit: 10}, some)},
		{"partial-name-scan", list(PinFilter{Name: "img_001", Match: "ipartial", Status: pinned, Limit: 10}, some)},
		{"pins-by-cid", func() error { _, err := e.s.PinsByCID(e.acct, e.sample.cid); return err }},
		{"usage-account", func() error { _, err := e.s.AccountUsage(e.acct); return err }},
		{"usage-server", func() error { _, err := e.s.AccountUsage(""); return err }},
		{"tokens-first-page", func() error {
			toks, next, err := e.s.ListTokens(e.acct, Page{Limit: 100})
			if err == nil && (len(toks) != 100 || next == "") {
				err = fmt.Errorf("%d tokens, next %q", len(toks), next)
			}
			return err
		}},
		{"rollup-30-days", func() error {
			r, err := e.s.Rollup(e.acct, "", e.now.AddDate(0, 0, -29), e.now)
			if err == nil && r.Totals.Uploads == 0 {
				err = fmt.Errorf("no uploads in %+v", r.Totals)
			}
			return err
		}},
		{"rollup-30-days-one-token", func() error {
			_, err := e.s.Rollup(e.acct, e.sample.prefix, e.now.AddDate(0, 0, -29), e.now)
			return err
		}},
	} {
		b.Run(q.name, func(b *testing.B) { measure(b, q.fn) })
	}
}

// benchScale measures what grows with the database: a commit, GC's root
// set, the file, opening it.
func benchScale(b *testing.B, e *benchEnv) {
	b.Run("add-pin-commit", func(b *testing.B) {
		i := 0
		measure(b, func() error {
			i++
			_, err := e.s.AddPins([]Pin{{AccountID: e.acct, CID: benchCID(e.n + i), Name: "new.jpg", Size: 10,
				MimeType: "image/jpeg", Metadata: map[string]string{"n": "1"}}}, nil)
			return err
		})
	})
	b.Run("live-roots", func(b *testing.B) {
		for b.Loop() {
			runtime.GC()
			peak, stop := sampleHeap()
			start, cpu0 := time.Now(), cpuTime()
			n := 0
			if err := e.s.LiveRoots(b.Context(), func(string) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "s")
			b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s")
			stop()
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(n), "roots")
		}
	})
	b.Run("open", func(b *testing.B) {
		e.s.Close(b.Context())
		fi, _ := os.Stat(e.path)
		for b.Loop() {
			start, cpu0 := time.Now(), cpuTime()
			s, err := Open(e.path, Options{Now: func() time.Time { return e.now }, PruneInterval: -1, Logger: discardLogger()})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1e3, "open-ms")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1e3, "open-cpu-ms")
			start = time.Now()
			if _, err := s.AddPins([]Pin{{AccountID: e.acct, CID: "bafyfirstwrite"}}, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1e3, "first-write-ms")
			b.ReportMetric(float64(fi.Size())/float64(e.n), "db-bytes/pin")
			e.s = s
			if b.N > 1 {
				s.Close(b.Context())
			}
		}
		e.s.Close(b.Context())
	})
}

// sampleHeap samples the live heap every millisecond until stop; the
// peak it saw is in the returned counter.
func sampleHeap() (*atomic.Uint64, func()) {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	base := heapInuse()
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				if h := heapInuse(); h > base && h-base > peak.Load() {
					peak.Store(h - base)
				}
			}
		}
	}()
	return &peak, func() { close(done); <-stopped }
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkAddPinsCommitCost measures the CPU of one upload's commit
// (AddPins of one pin, alone in its fsynced transaction) at 10k and at 1M
// pins (100k with -short), for bbolt's two freelists. The machine is
// shared, so the sizes and freelists take turns, three rounds of 200
// commits each, and the medians are reported, with their 1M/10k ratio.
// Then NoFreelistSync once: its commits, and what it costs the next Open
// (bbolt rebuilds the freelist by reading every page).
func BenchmarkAddPinsCommitCost(b *testing.B) {
	sizes := []int{10_000, 1_000_000}
	if testing.Short() {
		sizes[1] = 100_000
	}
	paths, accts := make([]string, 2), make([]string, 2)
	for i, n := range sizes {
		paths[i] = filepath.Join(b.TempDir(), "ninja.db")
		accts[i] = buildPinsOnly(b, paths[i], n)
	}
	freelists := []struct {
		name string
		opt  func(*bolt.Options)
	}{
		{"array", func(o *bolt.Options) { o.FreelistType = bolt.FreelistArrayType }},
		{"hashmap", func(o *bolt.Options) { o.FreelistType = bolt.FreelistMapType }},
	}
	for b.Loop() {
		cpu := map[string][]float64{}
		for round := range 3 {
			for _, fl := range freelists {
				for i := range sizes {
					ms, _ := commitCost(b, paths[i], accts[i], round, fl.opt)
					cpu[fl.name+"/"+fmt.Sprint(i)] = append(cpu[fl.name+"/"+fmt.Sprint(i)], ms)
				}
			}
		}
		for _, fl := range freelists {
			small, large := median(cpu[fl.name+"/0"]), median(cpu[fl.name+"/1"])
			b.ReportMetric(small, fl.name+"-small-cpu-ms")
			b.ReportMetric(large, fl.name+"-large-cpu-ms")
			b.ReportMetric(large/small, fl.name+"-ratio")
		}
		nofls := func(o *bolt.Options) { o.FreelistType, o.NoFreelistSync = bolt.FreelistArrayType, true }
		ms, _ := commitCost(b, paths[1], accts[1], 3, nofls)
		b.ReportMetric(ms, "nofreelistsync-large-cpu-ms")
		_, open := commitCost(b, paths[1], accts[1], 4, freelists[0].opt)
		b.ReportMetric(open, "open-after-nofreelistsync-large-ms")
	}
}

// commitCost opens a database and returns the CPU of a one-pin AddPins
// (after 20 to warm up) and how long the open took, in milliseconds.
func commitCost(b *testing.B, path, acct string, round int, opt func(*bolt.Options)) (cpuMS, openMS float64) {
	start := time.Now()
	s, err := Open(path, Options{PruneInterval: -1, Logger: discardLogger(), bolt: opt})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(b.Context())
	openMS = float64(time.Since(start).Microseconds()) / 1e3
	add := func(i int) {
		_, err := s.AddPins([]Pin{{AccountID: acct, CID: benchCID(1e9 + round*1000 + i), Name: "up.jpg", Size: 10,
			MimeType: "image/jpeg", Metadata: map[string]string{"n": "1"}}}, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	for i := range 20 {
		add(500 + i)
	}
	cpu0 := cpuTime()
	for i := range 200 {
		add(i)
	}
	return float64((cpuTime() - cpu0).Microseconds()) / 200 / 1e3, openMS
}

func median(v []float64) float64 {
	v = slices.Sorted(slices.Values(v))
	return v[len(v)/2]
}

// buildPinsOnly makes a closed database of n pins in one account.
func buildPinsOnly(b *testing.B, path string, n int) string {
	s, err := Open(path, Options{NoSync: true, PruneInterval: -1, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(b.Context())
	a, _ := s.CreateAccount("bench")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for start := 0; start < n; start += 10_000 {
		pins := make([]Pin, 0, 10_000)
		for i := start; i < min(start+10_000, n); i++ {
			at = at.Add(time.Millisecond)
			pins = append(pins, Pin{AccountID: a.ID, CID: benchCID(i), Name: fmt.Sprintf("IMG_%05d.jpg", i%50_000),
				MimeType: benchMimes[i%len(benchMimes)], CredentialID: fmt.Sprintf("tok_%d", i%100), Prefix: fmt.Sprintf("sup_%d", i%100),
				Size: int64(1000 + i%5000), Created: at, Metadata: map[string]string{"n": fmt.Sprint(i % 1000)}})
		}
		if err := s.ImportPins(pins); err != nil {
			b.Fatal(err)
		}
	}
	return a.ID
}
