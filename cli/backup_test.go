package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/api"
)

// uploads remembers what was uploaded and acknowledged, by CID.
type uploads struct {
	mu   sync.Mutex
	data map[string][]byte
}

func (u *uploads) add(cid string, b []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.data[cid] = b
}

func (u *uploads) len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.data)
}

// backup runs `ninja backup` and decodes its manifest.
func backup(t *testing.T, data, dest string) api.BackupManifest {
	t.Helper()
	out, errb, code := run(t, "backup", dest, "--data", data, "--json")
	if code != 0 {
		t.Fatalf("backup: exit %d: %s", code, errb)
	}
	var m api.BackupManifest
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("backup --json: %v: %s", err, out)
	}
	return m
}

// listPins lists the account's pins through the server's API.
func (s *served) listPins(t *testing.T, key string) []api.UploadItem {
	t.Helper()
	code, body := s.do(t, "GET", "/upload/list?limit=1000", key)
	if code != 200 {
		t.Fatalf("upload list: %d %s", code, body)
	}
	var l api.UploadList
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	return l.Uploads
}

func TestABackupTakenWhileUploadsRunRestoresEveryPinByteIdentical(t *testing.T) {
	data, dest := t.TempDir(), filepath.Join(t.TempDir(), "backup")
	s := serveInProcess(t, data)
	got := &uploads{data: map[string][]byte{}}
	for i := range 10 {
		b := []byte(fmt.Sprintf("before the backup %d", i))
		got.add(s.upload(t, s.adminKey, fmt.Sprintf("before-%d.txt", i), b), b)
	}
	before := got.len()

	// Uploads go on while the backup runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				b := bytes.Repeat([]byte(fmt.Sprintf("worker %d upload %d ", w, i)), 1+i%4000)
				got.add(s.upload(t, s.adminKey, fmt.Sprintf("w%d-%d.bin", w, i), b), b)
			}
		}()
	}
	for deadline := time.Now().Add(30 * time.Second); got.len() < before+6; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the concurrent uploads made no progress")
		}
	}
	first := backup(t, data, dest)
	during := got.len()
	close(stop)
	wg.Wait()
	t.Logf("%d uploads before the backup, %d when it ended, %d in all; %d pins in the snapshot", before, during, got.len(), first.Pins)
	if first.Pins < before || first.Blocks == 0 || first.Copied != first.Blocks || len(first.Secrets) != 3 {
		t.Fatalf("first backup: %+v; want at least the %d pins acknowledged before it, every block copied, 3 secrets", first, before)
	}
	for _, name := range append([]string{"ninja.db", "manifest.json"}, first.Secrets...) {
		if fi, err := os.Stat(filepath.Join(dest, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s in the backup: %v, mode %v; want 0600", name, err, fi.Mode().Perm())
		}
	}

	// The restored data directory serves every pin of the snapshot, with
	// the same admin key (the secrets came along).
	fresh := filepath.Join(t.TempDir(), "restored")
	if _, errb, code := run(t, "restore", dest, "--data", fresh); code != 0 {
		t.Fatalf("restore: %s", errb)
	}
	r := serveInProcess(t, fresh)
	if r.adminKey != "" {
		t.Fatal("the restored server minted a new admin key: the database was not restored")
	}
	pins := r.listPins(t, s.adminKey)
	if len(pins) != first.Pins {
		t.Fatalf("the restored server lists %d pins, the snapshot had %d", len(pins), first.Pins)
	}
	for _, p := range pins {
		code, body := r.do(t, "GET", "/ipfs/"+p.CID, "")
		if want, ok := got.data[p.CID]; code != 200 || !ok || !bytes.Equal(body, want) {
			t.Fatalf("GET /ipfs/%s from the restored server: %d, %d bytes; want the %d uploaded", p.CID, code, len(body), len(want))
		}
	}
	r.stop()

	// A later backup copies only what is new: after one that catches up
	// with the uploads made during the first, two known files (one raw
	// leaf; a 1 MiB leaf, a 10-byte leaf and their root) are 4 new blocks.
	caughtUp := backup(t, data, dest)
	s.upload(t, s.adminKey, "small.txt", []byte("one block"))
	s.upload(t, s.adminKey, "big.bin", bytes.Repeat([]byte{7, 1}, 1<<19+5))
	s.stop() // the next backup opens the data directory itself
	next := backup(t, data, dest)
	if next.Copied != 4 || next.Blocks != caughtUp.Blocks+4 || next.Pins != caughtUp.Pins+2 {
		t.Fatalf("incremental backup: %+v after %+v; want 4 blocks copied, 2 more pins", next, caughtUp)
	}
}

func TestBackupVerifyCatchesACorruptBlockFile(t *testing.T) {
	data, dest := t.TempDir(), filepath.Join(t.TempDir(), "backup")
	s := serveInProcess(t, data)
	cid := s.upload(t, s.adminKey, "a.bin", bytes.Repeat([]byte("verify me "), 1000))
	backup(t, data, dest)
	s.stop()
	if out, errb, code := run(t, "backup", "--verify", dest); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("verify a fresh backup: exit %d: %s %s", code, out, errb)
	}
	files, _ := filepath.Glob(filepath.Join(dest, "blocks", "*", "*.data"))
	if len(files) != 1 {
		t.Fatalf("%d block files, want 1", len(files))
	}
	if err := os.WriteFile(files[0], []byte("bit rot"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, "backup", "--verify", dest)
	if code != 1 || !strings.Contains(out, "corrupt block: "+files[0]) || !strings.Contains(out, "incomplete pin: "+cid) {
		t.Fatalf("verify a corrupt backup: exit %d:\n%s", code, out)
	}
	// Restoring it leaves the corrupt block out, and says so.
	_, errb, code := run(t, "restore", dest, "--data", filepath.Join(t.TempDir(), "r"))
	if code != 1 || !strings.Contains(errb, "corrupt") {
		t.Fatalf("restore of a corrupt backup: exit %d: %s", code, errb)
	}
}

func TestBackupAndRestoreRefuseDirectoriesTheyWouldDamage(t *testing.T) {
	data := t.TempDir()
	s := serveInProcess(t, data)
	good := filepath.Join(t.TempDir(), "backup")
	backup(t, data, good)
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a backup into the data directory", []string{"backup", filepath.Join(data, "b"), "--data", data}, "overlaps the data directory"},
		{"a backup into a directory of other files", []string{"backup", other, "--data", data}, "not part of a ninja backup"},
		{"a restore into a data directory in use", []string{"restore", good, "--data", data}, "not empty"},
		{"a restore from something that is not a backup", []string{"restore", other, "--data", filepath.Join(t.TempDir(), "x")}, "not a complete ninja backup"},
		{"a backup over the network", []string{"backup", other, "--server", s.url, "--api-key", s.adminKey}, "admin socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errb, code := run(t, tt.args...)
			if code == 0 || !strings.Contains(errb, tt.want) {
				t.Fatalf("exit %d: %s; want a refusal saying %q", code, errb, tt.want)
			}
		})
	}
	// An admin key over HTTP may not make the server write files.
	req, _ := http.NewRequest("POST", s.url+"/admin/backup", strings.NewReader(`{"dest":"/tmp/x"}`))
	req.Header.Set("Authorization", "Bearer "+s.adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("POST /admin/backup over HTTP: %d %s, want 403", resp.StatusCode, body)
	}
}
