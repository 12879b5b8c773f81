package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/api"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run runs the command line in-process and returns its output and exit code.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb syncBuffer
	code = Run(ctx, args, &out, &errb)
	return out.String(), errb.String(), code
}

// served is `ninja serve` running in-process on loopback.
type served struct {
	url, adminKey, out string
	stop               func() // cancels serve and waits for it to return
}

var (
	reHTTP  = regexp.MustCompile(`HTTPS? API and gateway: (https?://\S+)`)
	reAdmin = regexp.MustCompile(`(?m)^(bws_\S+)$`)
)

func serveInProcess(t *testing.T, data string, extra ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	args := append([]string{"serve", "--data", data, "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--offline"}, extra...)
	go func() { done <- Run(ctx, args, &out, &errb) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("serve exited %d after its context ended: %s", code, errb.String())
				}
			case <-time.After(30 * time.Second):
				t.Error("serve did not return within 30s of its context ending")
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "\nready\n") {
		select {
		case code := <-done:
			once.Do(func() {})
			t.Fatalf("serve exited %d before ready: %s %s", code, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("serve not ready after 30s: %s %s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(stop)
	s := &served{url: reHTTP.FindStringSubmatch(out.String())[1], out: out.String(), stop: stop}
	if m := reAdmin.FindStringSubmatch(out.String()); m != nil {
		s.adminKey = m[1]
	}
	return s
}

// upload posts one file with the key and returns its CID.
func (s *served) upload(t *testing.T, key, name string, data []byte) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("file", name)
	w.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", s.url+"/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res api.UploadResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %d %v", resp.StatusCode, err)
	}
	return res.CID
}

func (s *served) do(t *testing.T, method, path, key string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestServeBindsItsPortBeforeItCreatesAnythingOrMintsTheAdminKey(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	data := filepath.Join(t.TempDir(), "data")
	_, stderr, code := run(t, "serve", "--data", data, "--http", busy.Addr().String(), "--p2p", "/ip4/127.0.0.1/tcp/0", "--offline")
	if code != 1 || !strings.Contains(stderr, "listen http") {
		t.Fatalf("serve on a busy port: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("a serve that could not bind created its data directory (%v): its admin key would be lost", err)
	}
	s := serveInProcess(t, data)
	if !strings.HasPrefix(s.adminKey, "bws_") {
		t.Fatalf("the first serve that starts prints no admin key:\n%s", s.out)
	}
	if code, _ := s.do(t, "GET", "/admin/status", s.adminKey); code != 200 {
		t.Fatalf("the printed admin key does not work: %d", code)
	}
}

func TestGCCommandFreesUnpinnedBlocksThroughTheServerAndOffline(t *testing.T) {
	data := t.TempDir()
	s := serveInProcess(t, data)
	payload := bytes.Repeat([]byte("garbage soon\n"), 200000) // 2.6 MB: three blocks
	c := s.upload(t, s.adminKey, "a.bin", payload)
	kept := s.upload(t, s.adminKey, "kept.txt", []byte("this one stays pinned"))
	if code, _ := s.do(t, "DELETE", "/pins/"+c, s.adminKey); code != 200 {
		t.Fatalf("unpin: %d", code)
	}
	out, stderr, code := run(t, "gc", "--data", data, "--json")
	var res api.GCResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Blocks < 3 || res.Bytes < int64(len(payload)) {
		t.Fatalf("gc through the socket: exit %d, %s %s", code, out, stderr)
	}
	if code, _ := s.do(t, "GET", "/ipfs/"+c, ""); code != 404 {
		t.Errorf("an unpinned upload is still served after gc: %d", code)
	}
	if code, body := s.do(t, "GET", "/ipfs/"+kept, ""); code != 200 || string(body) != "this one stays pinned" {
		t.Errorf("gc damaged a pinned upload: %d %q", code, body)
	}

	// Offline: no server runs, the command opens the data directory itself.
	c2 := s.upload(t, s.adminKey, "b.bin", bytes.Repeat([]byte("offline garbage\n"), 100000))
	if code, _ := s.do(t, "DELETE", "/pins/"+c2, s.adminKey); code != 200 {
		t.Fatalf("unpin: %d", code)
	}
	s.stop()
	out, stderr, code = run(t, "gc", "--data", data)
	if code != 0 || !regexp.MustCompile(`^freed [1-9]\d* blocks, `).MatchString(out) {
		t.Fatalf("offline gc: exit %d, %q %q", code, out, stderr)
	}
	s = serveInProcess(t, data)
	if code, body := s.do(t, "GET", "/ipfs/"+kept, ""); code != 200 || string(body) != "this one stays pinned" {
		t.Errorf("offline gc damaged a pinned upload: %d %q", code, body)
	}
}

func TestExportCommandWritesTheCARThroughTheServerAndOffline(t *testing.T) {
	data := t.TempDir()
	s := serveInProcess(t, data)
	payload := bytes.Repeat([]byte("exported\n"), 400000) // 3.6 MB: several blocks
	c := s.upload(t, s.adminKey, "e.bin", payload)
	_, want := s.do(t, "GET", "/ipfs/"+c+"?format=car&dag-scope=all&car-order=dfs&car-dups=n", "")
	if len(want) < len(payload) {
		t.Fatalf("gateway CAR is %d bytes", len(want))
	}
	online := filepath.Join(t.TempDir(), "online.car")
	if _, stderr, code := run(t, "export", "--data", data, c, "-o", online); code != 0 {
		t.Fatalf("export through the socket: exit %d %s", code, stderr)
	}
	if got, _ := os.ReadFile(online); !bytes.Equal(got, want) {
		t.Errorf("export through the socket wrote %d bytes, not the gateway's %d", len(got), len(want))
	}
	// Remote, with --server and an admin key, through the public gateway.
	remote, stderr, code := run(t, "export", "--server", s.url, "--api-key", s.adminKey, c)
	if code != 0 || remote != string(want) {
		t.Errorf("remote export: exit %d, %d bytes, %s", code, len(remote), stderr)
	}
	s.stop()
	offline, stderr, code := run(t, "export", "--data", data, c)
	if code != 0 || offline != string(want) {
		t.Errorf("offline export: exit %d, %d bytes, %s", code, len(offline), stderr)
	}
	missing := filepath.Join(t.TempDir(), "missing.car")
	unknown := "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
	_, stderr, code = run(t, "export", "--data", data, unknown, "-o", missing)
	if code != 1 || !strings.Contains(stderr, "NOT_FOUND") {
		t.Errorf("export of a CID not stored here: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Error("a failed export left its output file behind")
	}
}

func TestGCIntervalCollectsUnattended(t *testing.T) {
	s := serveInProcess(t, t.TempDir(), "--gc-interval", "200ms")
	c := s.upload(t, s.adminKey, "x.bin", bytes.Repeat([]byte("periodic\n"), 200000))
	kept := s.upload(t, s.adminKey, "k.txt", []byte("kept"))
	if code, _ := s.do(t, "DELETE", "/pins/"+c, s.adminKey); code != 200 {
		t.Fatalf("unpin: %d", code)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _ := s.do(t, "GET", "/ipfs/"+c, "")
		if code == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the unpinned upload is still served (%d) 15 s after unpinning with --gc-interval 200ms", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := s.do(t, "GET", "/ipfs/"+kept, ""); code != 200 || string(body) != "kept" {
		t.Errorf("periodic gc damaged a pinned upload: %d %q", code, body)
	}
}

func TestEnvironmentValuesAreParsedLikeFlags(t *testing.T) {
	tests := []struct {
		name, env, value string
		wantErr          string // "" means it parses
		flag, want       string
	}{
		{"a duration without a unit is an error", "NINJA_PIN_TIMEOUT", "10", "NINJA_PIN_TIMEOUT", "", ""},
		{"a number that is not one is an error", "NINJA_PIN_CONCURRENCY", "eight", "NINJA_PIN_CONCURRENCY", "", ""},
		{"a bad boolean is an error", "NINJA_OFFLINE", "maybe", "NINJA_OFFLINE", "", ""},
		{"1 means true", "NINJA_OFFLINE", "1", "", "offline", "true"},
		{"a duration with a unit parses", "NINJA_PIN_TIMEOUT", "90s", "", "pin-timeout", "1m30s"},
		{"an empty bootstrap list is a value", "NINJA_BOOTSTRAP", "", "", "bootstrap", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			root := newRootCmd()
			cmd, _, err := root.Find([]string{"serve"})
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.ParseFlags(nil); err != nil {
				t.Fatal(err)
			}
			err = applyEnv(cmd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("applyEnv with %s=%q: %v, want an error naming %s", tt.env, tt.value, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cmd.Flags().Lookup(tt.flag).Value.String(); got != tt.want || !cmd.Flags().Changed(tt.flag) {
				t.Fatalf("--%s = %q (changed %v), want %q", tt.flag, got, cmd.Flags().Changed(tt.flag), tt.want)
			}
		})
	}
	// A flag on the command line wins over the environment.
	t.Setenv("NINJA_PIN_TIMEOUT", "bad")
	root := newRootCmd()
	cmd, _, _ := root.Find([]string{"serve"})
	cmd.ParseFlags([]string{"--pin-timeout", "2m"})
	if err := applyEnv(cmd); err != nil || cmd.Flags().Lookup("pin-timeout").Value.String() != "2m0s" {
		t.Fatalf("flag over environment: %v %s", err, cmd.Flags().Lookup("pin-timeout").Value)
	}
}

func TestAnEmptyBootstrapMeansNoPeersAndOfflineMeansNoneEither(t *testing.T) {
	for _, tt := range []struct {
		name    string
		changed bool
		offline bool
		want    int
	}{
		{"unset and online: the public list", false, false, len(defaultBootstrap())},
		{"set empty: none", true, false, 0},
		{"offline: none", false, true, 0},
	} {
		f := &serveFlags{offline: tt.offline}
		if got := len(f.bootstrapPeers(tt.changed)); got != tt.want {
			t.Errorf("%s: %d peers, want %d", tt.name, got, tt.want)
		}
	}
}

func TestAMistypedSubcommandIsAUsageError(t *testing.T) {
	_, stderr, code := run(t, "key", "lst")
	if code != 2 || !strings.Contains(stderr, `unknown command "lst"`) || !strings.Contains(stderr, `"list"`) {
		t.Fatalf("ninja key lst: exit %d, %q", code, stderr)
	}
	if _, stderr, code := run(t, "serve", "--no-such-flag"); code != 2 || !strings.Contains(stderr, "no-such-flag") {
		t.Fatalf("an unknown flag: exit %d, %q", code, stderr)
	}
}

func TestTokenSizesTakeUnitsAndAreShownAsSet(t *testing.T) {
	data := t.TempDir()
	s := serveInProcess(t, data)
	out, stderr, code := run(t, "token", "create", "--data", data, "--name", "web", "--max-size", "50", "--max-total", "1GiB", "--json")
	var tok api.TokenCreated
	if code != 0 || json.Unmarshal([]byte(out), &tok) != nil {
		t.Fatalf("token create: exit %d %s %s", code, out, stderr)
	}
	if tok.MaxSizeMB != 50 || tok.MaxTotalMB != 1024 {
		t.Fatalf("--max-size 50 --max-total 1GiB gave maxSizeMB %v, maxTotalMB %v; want 50 and 1024", tok.MaxSizeMB, tok.MaxTotalMB)
	}
	_, stderr, code = run(t, "token", "create", "--data", data, "--name", "small", "--max-size", "500KB")
	if code != 0 || !strings.Contains(stderr, "files up to 500.0KiB") {
		t.Fatalf("token create says %q, want the limit as set", stderr)
	}
	s.upload(t, tok.Token, "a.bin", bytes.Repeat([]byte{1}, 5<<20+100))
	out, _, code = run(t, "token", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "5.0MiB") || strings.Contains(out, "e+06") {
		t.Fatalf("token list:\n%s", out)
	}
}

func TestTheProgressBarSurvivesAFileThatGrew(t *testing.T) {
	var b bytes.Buffer
	drawBar(&b, "grew.log", 300, 100)
	if !strings.Contains(b.String(), "100.0%") {
		t.Fatalf("bar for 300 of 100 bytes: %q", b.String())
	}
	fmt.Fprint(io.Discard, b.String())
}

func TestServeRefusesANewDatabaseBesideStoredBlocks(t *testing.T) {
	data := t.TempDir()
	s := serveInProcess(t, data)
	c := s.upload(t, s.adminKey, "kept.bin", bytes.Repeat([]byte("precious\n"), 100000))
	s.stop()
	db := filepath.Join(data, "ninja.db")
	for _, damage := range []struct {
		name string
		do   func() error
	}{
		{"a zero-length database", func() error { return os.Truncate(db, 0) }},
		{"a missing database", func() error { return os.Remove(db) }},
	} {
		if err := damage.do(); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := run(t, "serve", "--data", data, "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--offline")
		if code != 1 || !strings.Contains(stderr, "holds blocks") || !strings.Contains(stderr, "--accept-empty-database") {
			t.Fatalf("serve with %s: exit %d, %q", damage.name, code, stderr)
		}
		if strings.Contains(out, "bws_") {
			t.Fatalf("serve with %s printed a new admin key", damage.name)
		}
	}
	// The operator's explicit choice starts over (and says nothing is lost
	// until a GC runs: the blocks are still there).
	s = serveInProcess(t, data, "--accept-empty-database")
	if !strings.HasPrefix(s.adminKey, "bws_") {
		t.Fatal("an accepted new database printed no admin key")
	}
	if code, _ := s.do(t, "GET", "/ipfs/"+c, ""); code != 200 {
		t.Errorf("blocks of the old database are gone before any GC: %d", code)
	}
}

// TestSIGTERMDrainsUploadsInFlight: on SIGTERM the server stops taking new
// connections and lets uploads in flight finish for --shutdown-timeout:
// those that finish get their 2xx and are durable, the rest fail, and
// nothing acknowledged is lost.
func TestSIGTERMDrainsUploadsInFlight(t *testing.T) {
	data := t.TempDir()
	s := serveInProcess(t, data, "--shutdown-timeout", "3s")
	type flight struct {
		pw   *io.PipeWriter
		data []byte
		res  chan *http.Response
	}
	var flights []flight
	for i := range 20 {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("POST", s.url+"/upload", pr)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=XX")
		req.Header.Set("X-Api-Key", s.adminKey)
		f := flight{pw: pw, data: bytes.Repeat([]byte{byte(i)}, 2<<20), res: make(chan *http.Response, 1)}
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				resp = nil
			}
			f.res <- resp
		}()
		fmt.Fprintf(pw, "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f%d.bin\"\r\n\r\n", i)
		pw.Write(f.data[:1<<20]) // half of it: the upload is in flight
		flights = append(flights, f)
	}
	stopped := make(chan struct{})
	go func() { s.stop(); close(stopped) }() // SIGTERM
	time.Sleep(300 * time.Millisecond)
	// Half finish within the drain; the other half never do.
	acked := map[string][]byte{}
	for i, f := range flights[:10] {
		f.pw.Write(f.data[1<<20:])
		fmt.Fprint(f.pw, "\r\n--XX--\r\n")
		f.pw.Close()
		resp := <-f.res
		if resp == nil || resp.StatusCode != 200 {
			t.Fatalf("upload %d finished during the drain: %v", i, resp)
		}
		var res api.UploadResult
		json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		acked[res.CID] = f.data
	}
	<-stopped // the drain timed out and cut the rest
	for i, f := range flights[10:] {
		f.pw.CloseWithError(io.ErrClosedPipe) // the client gives up writing too
		if resp := <-f.res; resp != nil && resp.StatusCode == 200 {
			t.Fatalf("upload %d never finished its body but got 200", i+10)
		}
	}
	// Nothing acknowledged is lost; nothing unacknowledged was recorded.
	admin := s.adminKey
	s = serveInProcess(t, data)
	s.adminKey = admin
	for c, want := range acked {
		if code, body := s.do(t, "GET", "/ipfs/"+c, ""); code != 200 || !bytes.Equal(body, want) {
			t.Fatalf("acknowledged upload %s after the restart: %d, %d bytes", c, code, len(body))
		}
	}
	_, body := s.do(t, "GET", "/upload/list", s.adminKey)
	var list api.UploadList
	if json.Unmarshal(body, &list) != nil || list.Count != 10 {
		t.Fatalf("%d pins after the drain, want the 10 acknowledged: %s", list.Count, body)
	}
}

func TestATruncatedDatabaseIsAnErrorMessageNotAPanic(t *testing.T) {
	data := t.TempDir()
	s := serveInProcess(t, data)
	s.upload(t, s.adminKey, "a.bin", bytes.Repeat([]byte("x"), 1<<20))
	s.stop()
	db := filepath.Join(data, "ninja.db")
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	// Keep the two meta pages and cut the rest (bbolt grows the file ahead
	// of its data, so a cut near the end may only lose free space).
	if err := os.Truncate(db, min(fi.Size()/2, 12<<10)); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, "serve", "--data", data, "--http", "127.0.0.1:0", "--p2p", "/ip4/127.0.0.1/tcp/0", "--offline")
	if code != 1 || !strings.Contains(stderr, "corrupt") || strings.Contains(stderr, "goroutine") || strings.Contains(out, "bws_") {
		t.Fatalf("serve on a truncated database: exit %d\nstdout %q\nstderr %q", code, out, stderr)
	}
}
