package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
)

// VerifyBackup checks the backup in dir, without a server or a data
// directory: the manifest and the database snapshot are readable, the
// secrets are there (mode 0600), every block file hashes to its name, and
// every pinned CID of the snapshot has its whole DAG in the backup (pins
// still queued, fetching or failed may be partial).
func VerifyBackup(ctx context.Context, dir string) (api.BackupVerification, error) {
	v := api.BackupVerification{Corrupt: []string{}, Incomplete: map[string]int{}, Problems: []string{}}
	l := Layout{Dir: dir}
	m, err := readManifest(dir)
	if err != nil {
		return v, err
	}
	v.Manifest = m
	for _, name := range m.Secrets {
		fi, err := os.Stat(filepath.Join(dir, name))
		switch {
		case err != nil:
			v.Problems = append(v.Problems, fmt.Sprintf("secret %s: %v", name, err))
		case fi.Mode().Perm() != 0o600:
			v.Problems = append(v.Problems, fmt.Sprintf("secret %s has mode %v, want 0600", name, fi.Mode().Perm()))
		}
	}
	complete, err := pinnedRoots(l.DB())
	if err != nil {
		return v, fmt.Errorf("verify backup: %w", err)
	}
	rep, err := node.VerifyBlocks(ctx, l.Blocks(), complete)
	if err != nil {
		return v, fmt.Errorf("verify backup: %w", err)
	}
	v.Blocks, v.Bytes = rep.Blocks, rep.Bytes
	v.Corrupt = append(v.Corrupt, rep.Corrupt...)
	for k, n := range rep.Incomplete {
		v.Incomplete[k] = n
	}
	v.OK = rep.OK() && len(v.Problems) == 0
	return v, nil
}

// pinnedRoots are the CIDs of the database at path that some pin holds
// complete (status pinned): those whose every pin is queued, fetching or
// failed may have partial DAGs.
func pinnedRoots(path string) ([]cid.Cid, error) {
	st, err := openReadOnly(path)
	if err != nil {
		return nil, err
	}
	defer st.Close(context.Background())
	roots, err := liveRoots(st)
	if err != nil {
		return nil, err
	}
	_, unfinished, err := countPins(st)
	if err != nil {
		return nil, err
	}
	out := roots[:0]
	for _, c := range roots {
		if n := unfinished[c.String()]; n > 0 {
			if refs, err := st.RefCount(c.String()); err == nil && refs <= int64(n) {
				continue // no pin of it is pinned
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// RestoreResult is what Restore restored.
type RestoreResult struct {
	Manifest api.BackupManifest
	Blocks   int64
	Bytes    int64
	// Corrupt are block files of the backup left out: their bytes do not
	// hash to their name. A pin whose DAG had one is incomplete.
	Corrupt []string
}

// Restore restores the backup in src into dataDir, which must not exist
// or be empty: a restore never mixes with a data directory's own files.
// Every block is checked against its name on the way; corrupt ones are
// left out and reported. Start `ninja serve --data dataDir` afterwards;
// a backup of an older schema is migrated then.
func Restore(ctx context.Context, src, dataDir string) (RestoreResult, error) {
	var res RestoreResult
	m, err := readManifest(src)
	if err != nil {
		return res, err
	}
	res.Manifest = m
	if m.Schema > store.CurrentSchema() {
		return res, fmt.Errorf("the backup's schema version %d is newer than this binary's %d: restore it with a newer ninja", m.Schema, store.CurrentSchema())
	}
	if err := emptyDir(dataDir); err != nil {
		return res, err
	}
	from, to := Layout{Dir: src}, Layout{Dir: dataDir}
	if err := copyFile(from.DB(), to.DB()); err != nil {
		return res, fmt.Errorf("restore database: %w", err)
	}
	st, err := openReadOnly(to.DB())
	if err != nil {
		return res, fmt.Errorf("restore: the backup's database does not open: %w", err)
	}
	st.Close(ctx)
	for _, name := range m.Secrets {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return res, fmt.Errorf("restore: %w", err)
		}
		if err := writeSecretFile(filepath.Join(dataDir, name), b); err != nil {
			return res, fmt.Errorf("restore: %w", err)
		}
	}
	bs, err := node.RestoreBlocks(ctx, from.Blocks(), dataDir)
	res.Blocks, res.Bytes, res.Corrupt = bs.Blocks, bs.Bytes, bs.Corrupt
	if err != nil {
		return res, err
	}
	return res, syncDir(dataDir)
}

// emptyDir creates dir (0700) or checks that it is empty.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%w: %s holds %s; restore into a new or empty directory", ErrNotEmpty, dir, entries[0].Name())
	}
	return os.Chmod(dir, 0o700)
}

// copyFile copies src to dst (0600), durably.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
