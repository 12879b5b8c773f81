package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"golang.org/x/sys/unix"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
)

// A backup directory is laid out like a data directory, so that restoring
// is copying:
//
//	manifest.json   what the backup holds (api.BackupManifest), written last
//	ninja.db        the database snapshot (bbolt's tx.WriteTo: consistent while in use)
//	blocks/         every block reachable from the snapshot's pins, in flatfs
//	                next-to-last/2 layout (Kubo's, and the data directory's)
//	secret.key      the hashing secret: without it no API key or token verifies
//	jwt.key         the access-JWT signing key: without it issued JWTs stop verifying
//	identity.key    the libp2p identity: the restored node keeps its peer id
//
// The secrets are in the backup (mode 0600, as the whole directory is
// 0700): a backup without them restores records whose keys and tokens no
// longer work. So a backup is as sensitive as the data directory itself.
//
// A backup into a directory that holds one already is incremental: blocks
// are content-addressed, so a block whose file is there is not copied (and
// not read, for raw leaves); `ninja backup --verify` checks every file's
// hash. Blocks no longer referenced are not removed from it.

// BackupManifestFile is the manifest's name in a backup directory.
const BackupManifestFile = "manifest.json"

// ErrNotEmpty means a restore's data directory holds files already.
var ErrNotEmpty = errors.New("data directory not empty")

// backupNames are the entries a backup directory may hold.
var backupNames = map[string]bool{BackupManifestFile: true, "ninja.db": true, "blocks": true,
	"secret.key": true, "jwt.key": true, "identity.key": true, ".lock": true}

// Backup writes a consistent backup of the data directory into dest (an
// absolute path, created 0700 if missing) while the server keeps serving:
// a database snapshot, every block reachable from its pins (held from GC
// for the duration; see node.HoldRoots) and the secrets. progress, if
// set, is told how far the block copy got.
func (a *App) Backup(ctx context.Context, req api.BackupRequest, progress func(api.BackupProgress)) (api.BackupManifest, error) {
	var m api.BackupManifest
	dest, err := a.checkBackupDest(req.Dest)
	if err != nil {
		return m, err
	}
	unlock, err := lockDir(dest)
	if err != nil {
		return m, err
	}
	defer unlock()
	l := Layout{Dir: dest}
	var snap snapshot
	hold, err := a.Node.HoldRoots(ctx, func(ctx context.Context) ([]cid.Cid, error) {
		var err error
		snap, err = a.snapshotDB(l.DB() + ".tmp")
		return snap.roots, err
	})
	if err != nil {
		os.Remove(l.DB() + ".tmp")
		return m, fmt.Errorf("backup: %w", err)
	}
	defer hold.Release()
	var report func(node.CopyStats)
	if progress != nil {
		report = func(s node.CopyStats) {
			progress(api.BackupProgress{Blocks: s.Blocks, Copied: s.Copied, Bytes: s.Bytes})
		}
	}
	st, err := a.Node.CopyBlocks(ctx, l.Blocks(), snap.roots, report)
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	secrets, err := copySecrets(a.Layout, l)
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(l.DB()+".tmp", l.DB()); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	m = api.BackupManifest{Format: api.BackupFormat, Created: snap.taken.UTC().Format(time.RFC3339), NinjaVersion: a.version,
		Schema: snap.schema, Pins: snap.pins, Roots: len(snap.roots), Blocks: st.Blocks, Bytes: st.Bytes,
		Copied: st.Copied, CopiedBytes: st.CopiedBytes, Missing: st.Missing, Corrupt: st.Corrupt, Secrets: secrets}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := writeSecretFile(filepath.Join(dest, BackupManifestFile), append(b, '\n')); err != nil {
		return m, fmt.Errorf("backup: manifest: %w", err)
	}
	return m, syncDir(dest)
}

// checkBackupDest refuses a destination that is, holds or is inside the
// data directory, or that holds files a backup does not.
func (a *App) checkBackupDest(dest string) (string, error) {
	if !filepath.IsAbs(dest) {
		return "", fmt.Errorf("backup: the destination %q is not an absolute path", dest)
	}
	dest = filepath.Clean(dest)
	data, err := filepath.Abs(a.Layout.Dir)
	if err != nil {
		return "", err
	}
	if within(dest, data) || within(data, dest) {
		return "", fmt.Errorf("backup: the destination %s overlaps the data directory %s", dest, data)
	}
	if err := os.MkdirAll(dest, 0o700); err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	entries, err := os.ReadDir(dest)
	if err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	for _, e := range entries {
		if !backupNames[e.Name()] && !strings.HasSuffix(e.Name(), ".tmp") {
			return "", fmt.Errorf("backup: %s holds %s, which is not part of a ninja backup: use an empty directory or an earlier backup", dest, e.Name())
		}
	}
	return dest, nil
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// lockDir takes dir/.lock exclusively, so two backups never write into the
// same directory at once.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("backup: another backup is writing into %s", dir)
	}
	return func() { f.Close() }, nil
}

// snapshot is what a backup learnt from its database snapshot.
type snapshot struct {
	taken  time.Time
	roots  []cid.Cid
	pins   int
	schema uint64
}

// snapshotDB writes the database snapshot to path (fsynced) and reads the
// snapshot's roots, pin count and schema back from it: the roots must be
// the snapshot's, not the live database's, which moves on meanwhile.
func (a *App) snapshotDB(path string) (snapshot, error) {
	snap := snapshot{taken: time.Now()}
	a.Store.FlushEvents()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return snap, err
	}
	if _, err := a.Store.Backup(f); err != nil {
		f.Close()
		return snap, fmt.Errorf("database snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return snap, err
	}
	if err := f.Close(); err != nil {
		return snap, err
	}
	st, err := openReadOnly(path)
	if err != nil {
		return snap, err
	}
	defer st.Close(context.Background())
	if snap.roots, err = liveRoots(st); err != nil {
		return snap, err
	}
	if snap.pins, _, err = countPins(st); err != nil {
		return snap, err
	}
	snap.schema, err = st.SchemaVersion()
	return snap, err
}

func openReadOnly(path string) (*store.Store, error) {
	return store.Open(path, store.Options{ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
}

// liveRoots are the CIDs the pins of st reference: GC's root set.
func liveRoots(st *store.Store) ([]cid.Cid, error) {
	var roots []cid.Cid
	err := st.LiveCIDs(func(s string) error {
		if c, err := cid.Decode(s); err == nil {
			roots = append(roots, c)
		}
		return nil
	})
	return roots, err
}

// countPins counts the pin records of every account, and how many pins of
// each CID are not pinned (queued, pinning or failed: partial DAGs).
func countPins(st *store.Store) (int, map[string]int, error) {
	accounts, err := st.Accounts()
	if err != nil {
		return 0, nil, err
	}
	total, unfinished := 0, map[string]int{}
	for _, acct := range accounts {
		_, n, err := st.ListPins(acct.ID, store.PinFilter{Limit: 1})
		if err != nil {
			return 0, nil, err
		}
		total += n
		open, _, err := st.ListPins(acct.ID, store.PinFilter{Status: []string{store.StatusQueued, store.StatusPinning, store.StatusFailed}})
		if err != nil {
			return 0, nil, err
		}
		for _, p := range open {
			unfinished[p.CID]++
		}
	}
	return total, unfinished, nil
}

// copySecrets copies the data directory's key files into the backup
// (0600, written atomically) and returns their names.
func copySecrets(from, to Layout) ([]string, error) {
	var names []string
	for _, p := range [][2]string{{from.Secret(), to.Secret()}, {from.JWTKey(), to.JWTKey()}, {from.Identity(), to.Identity()}} {
		b, err := os.ReadFile(p[0])
		if errors.Is(err, os.ErrNotExist) && p[0] == from.Identity() {
			continue // a data directory never served has no identity yet
		}
		if err != nil {
			return nil, err
		}
		if err := writeSecretFile(p[1], b); err != nil {
			return nil, err
		}
		names = append(names, filepath.Base(p[1]))
	}
	return names, nil
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readManifest reads dir's manifest.
func readManifest(dir string) (api.BackupManifest, error) {
	var m api.BackupManifest
	b, err := os.ReadFile(filepath.Join(dir, BackupManifestFile))
	if err != nil {
		return m, fmt.Errorf("%s is not a complete ninja backup: %w", dir, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, BackupManifestFile), err)
	}
	if m.Format > api.BackupFormat {
		return m, fmt.Errorf("%s is a backup of format %d, newer than this binary's %d", dir, m.Format, api.BackupFormat)
	}
	return m, nil
}
