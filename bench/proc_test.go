package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds on every wait, so a wedged process fails the benchmark instead of
// hanging it until the 60m test timeout.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 15 * time.Second
)

var binDir string // holds the ninja binary built for this run; see TestMain

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	ninjaBin  string
	buildErr  error
)

// ninjaBinary builds ninja from the working tree once per test binary, on
// first use, so `go test ./bench/` without -bench builds nothing. The
// binary outlives any one benchmark's b.TempDir, so it goes in a directory
// TestMain removes.
func ninjaBinary(b *testing.B) string {
	b.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "ninja-bench-")
		if buildErr != nil {
			return
		}
		ninjaBin = filepath.Join(binDir, "ninja")
		goBin := "go" // the go command on the PATH, as make runs it
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goBin, "build", "-o", ninjaBin, "github.com/ninja-ipfs/ninja")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return ninjaBin
}

// kuboBinary returns $KUBO_BIN, or skips the benchmark (never fails it)
// when it is unset or missing.
func kuboBinary(b *testing.B) string {
	b.Helper()
	p := os.Getenv("KUBO_BIN")
	if p == "" {
		b.Skip("KUBO_BIN is not set: skipping the Kubo side (make kubo builds one)")
	}
	if _, err := os.Stat(p); err != nil {
		b.Skipf("KUBO_BIN=%s is missing: skipping the Kubo side (make kubo builds one)", p)
	}
	return p
}

// client talks to 127.0.0.1 directly (never through an HTTP_PROXY) and
// keeps enough idle connections for 32 concurrent clients.
var client = &http.Client{Transport: &http.Transport{
	Proxy:               nil,
	DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	MaxIdleConns:        128,
	MaxIdleConnsPerHost: 128,
	DisableCompression:  true,
}}

// proc is a server subprocess: ninja serve or ipfs daemon.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  string        // file with its stderr (and, for Kubo, stdout)
}

// start runs cmd, wires its stderr to a log file in dir and returns its
// stdout lines on a channel (drained to the end so the child never blocks
// on a full pipe). The process is stopped in b.Cleanup.
func start(b *testing.B, name string, cmd *exec.Cmd, dir string) (*proc, <-chan string) {
	b.Helper()
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: filepath.Join(dir, name+".log")}
	logf, err := os.Create(p.log)
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", name, err)
	}
	lines := make(chan string, 64)
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			select {
			case lines <- sc.Text():
			default: // nobody is listening any more; the log keeps it
			}
		}
		close(lines)
		cmd.Wait()
		close(p.done)
	}()
	b.Cleanup(p.stop)
	return p, lines
}

// stop sends SIGTERM, waits a bounded time, then kills. Idempotent.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// peakRSS is the process's peak resident set size (VmHWM) in bytes.
func (p *proc) peakRSS(b *testing.B) uint64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Logf("%s: no /proc status: %v", p.name, err)
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// statusKB is one "Name: N kB" field of the process's /proc status, in
// bytes (0 when it cannot be read).
func (p *proc) statusKB(field string) uint64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// sampleAnon samples the process's anonymous resident memory (RssAnon:
// the heap and stacks, not the database's file-backed mmap pages, which
// the kernel can drop at will) every 10 ms until stop is called, which
// returns the peak.
func (p *proc) sampleAnon() (stop func() uint64) {
	var peak uint64
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, p.statusKB("RssAnon"))
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(quit)
		<-done
		return max(peak, p.statusKB("RssAnon"))
	}
}

// tail is the end of the process's log, for failure messages.
func (p *proc) tail() string {
	data, _ := os.ReadFile(p.log)
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return string(data)
}

// server is what a benchmark needs to drive ninja or Kubo.
type server struct {
	*proc
	upload  func(ctx context.Context, name string, r io.Reader) (string, error) // returns the CID
	gateway string                                                              // base URL; + "/ipfs/CID"
}

// ninjaServer starts `ninja serve` on dataDir (created on first start) and
// waits for "ready". The admin key is printed only on the first start of a
// data directory; later starts reuse key. Every upload of a benchmark is
// made with one credential from one address, so the per-credential upload
// rate limit (100/s by default) is off: the benchmarks measure the server,
// not the limiter.
func startNinja(b *testing.B, dataDir string, key *string) *server {
	b.Helper()
	cmd := exec.Command(ninjaBinary(b), "serve", "--data", dataDir,
		"--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--offline", "--log-level", "warn",
		"--upload-rate", "0")
	p, lines := start(b, "ninja", cmd, filepath.Dir(dataDir))
	var base string
	deadline := time.After(startTimeout)
	for ready := false; !ready; {
		select {
		case line, ok := <-lines:
			if !ok {
				b.Fatalf("ninja exited before ready:\n%s", p.tail())
			}
			switch {
			case strings.HasPrefix(line, "HTTP API and gateway: "):
				base = strings.TrimPrefix(line, "HTTP API and gateway: ")
			case strings.HasPrefix(line, "bws_"):
				*key = line
			case line == "ready":
				ready = true
			}
		case <-deadline:
			b.Fatalf("ninja not ready after %v:\n%s", startTimeout, p.tail())
		}
	}
	if base == "" || *key == "" {
		b.Fatalf("ninja printed no HTTP address or admin key:\n%s", p.tail())
	}
	apiKey := *key
	return &server{
		proc:    p,
		gateway: base,
		upload: func(ctx context.Context, name string, r io.Reader) (string, error) {
			return postMultipart(ctx, base+"/upload", name, r, func(h http.Header) {
				h.Set("Authorization", "Bearer "+apiKey)
			}, func(body io.Reader) (string, error) {
				var res struct{ CID string }
				if err := json.NewDecoder(body).Decode(&res); err != nil {
					return "", err
				}
				return res.CID, nil
			})
		},
	}
}

// kuboAddQuery is ninja's default import profile (unixfs-v1-2025) spelled
// as Kubo's add options; pin=true makes each add a durable pin.
const kuboAddQuery = "cid-version=1&raw-leaves=true&chunker=size-1048576&max-file-links=1024&pin=true&progress=false"

// startKubo initialises a loopback-only Kubo repo in a temp dir (test
// profile: no bootstrap, no MDNS; routing none; default flatfs datastore,
// which syncs every block) and runs `ipfs daemon --offline`.
func startKubo(b *testing.B, bin string) *server {
	b.Helper()
	dir := b.TempDir()
	repo := filepath.Join(dir, "ipfs")
	env := append(os.Environ(), "IPFS_PATH="+repo)
	run := func(args ...string) {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ipfs %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("init", "--profile=test")
	apiPort, gwPort := freePort(b), freePort(b)
	run("config", "Addresses.API", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", apiPort))
	run("config", "Addresses.Gateway", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", gwPort))
	run("config", "--json", "Addresses.Swarm", `["/ip4/127.0.0.1/tcp/0"]`)
	run("config", "--json", "Bootstrap", `[]`)
	run("config", "Routing.Type", "none")
	run("config", "--json", "Discovery.MDNS.Enabled", "false")
	// Defensive: the test profile keeps the default datastore, flatfs with
	// sync=true, which is what makes Kubo's add durable like ninja's.
	spec, err := os.ReadFile(filepath.Join(repo, "datastore_spec"))
	if err != nil || !strings.Contains(string(spec), `"type":"flatfs"`) {
		b.Fatalf("Kubo repo is not on flatfs (datastore_spec %q, %v)", spec, err)
	}

	cmd := exec.Command(bin, "daemon", "--offline")
	cmd.Env = env
	p, lines := start(b, "kubo", cmd, dir)
	deadline := time.After(startTimeout)
	for ready := false; !ready; {
		select {
		case line, ok := <-lines:
			if !ok {
				b.Fatalf("kubo exited before ready:\n%s", p.tail())
			}
			ready = strings.Contains(line, "Daemon is ready")
		case <-deadline:
			b.Fatalf("kubo not ready after %v:\n%s", startTimeout, p.tail())
		}
	}
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	return &server{
		proc:    p,
		gateway: fmt.Sprintf("http://127.0.0.1:%d", gwPort),
		upload: func(ctx context.Context, name string, r io.Reader) (string, error) {
			return postMultipart(ctx, api+"/api/v0/add?"+kuboAddQuery, name, r, nil,
				func(body io.Reader) (string, error) {
					// One JSON object per added entry; the file's comes last.
					var hash string
					dec := json.NewDecoder(body)
					for {
						var res struct{ Hash string }
						if err := dec.Decode(&res); err == io.EOF {
							break
						} else if err != nil {
							return "", err
						}
						hash = res.Hash
					}
					return hash, nil
				})
		},
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(b *testing.B) int {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// chachaReader streams the deterministic fixture bytes of shared/fixtures:
// ChaCha8 keyed by seed (8 little-endian bytes, then 24 zero bytes),
// truncated to size. It never holds more than one Read's worth.
func chachaReader(seed uint64, size int64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], seed)
	return io.LimitReader(rand.NewChaCha8(key), size)
}

// postMultipart streams r as the one file part "file" of a multipart POST
// (chunked: the body is never held in memory) and decodes a 200 response
// with parse.
func postMultipart(ctx context.Context, url, name string, r io.Reader, header func(http.Header), parse func(io.Reader) (string, error)) (string, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", name)
		if err == nil {
			_, err = io.CopyBuffer(part, r, make([]byte, 256<<10))
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, pr)
	if err != nil {
		pr.Close()
		return "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if header != nil {
		header(req.Header)
	}
	resp, err := client.Do(req)
	if err != nil {
		pr.Close()
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		pr.Close()
		return "", fmt.Errorf("POST %s: %s: %s", url, resp.Status, msg)
	}
	c, err := parse(resp.Body)
	if err == nil && c == "" {
		err = fmt.Errorf("POST %s: no CID in the response", url)
	}
	return c, err
}
