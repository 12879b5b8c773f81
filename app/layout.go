package app

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Layout is a data directory's files, named in one place:
//
//	ninja.db      the bbolt database (store)
//	blocks/       the block store (node)
//	secret.key    32 random bytes keying the hashes of API keys and tokens (0600)
//	jwt.key       the Ed25519 seed that signs access JWTs (0600)
//	identity.key  the libp2p identity (0600)
//	ninja.sock    the admin socket (0600) while a server runs
//	tmp/          files in transit (forms' files spooled before their credential); emptied at start
//	acme/         ACME account key and certificates (files 0600, directories 0700), with --acme-domains
//	tus/          resumable uploads' bytes, one file per upload (0700); kept across restarts
type Layout struct{ Dir string }

// Paths inside the data directory.
func (l Layout) DB() string       { return filepath.Join(l.Dir, "ninja.db") }
func (l Layout) Blocks() string   { return filepath.Join(l.Dir, "blocks") }
func (l Layout) Secret() string   { return filepath.Join(l.Dir, "secret.key") }
func (l Layout) JWTKey() string   { return filepath.Join(l.Dir, "jwt.key") }
func (l Layout) Identity() string { return filepath.Join(l.Dir, "identity.key") }
func (l Layout) Socket() string   { return filepath.Join(l.Dir, "ninja.sock") }
func (l Layout) Tmp() string      { return filepath.Join(l.Dir, "tmp") }
func (l Layout) ACME() string     { return filepath.Join(l.Dir, "acme") }
func (l Layout) Tus() string      { return filepath.Join(l.Dir, "tus") }

// secretFile reads the secret at path, or creates it with gen (mode 0600,
// written durably and atomically) when create is set and it does not
// exist; check validates what was read. It is the one load-or-create of
// every secret file.
func secretFile(path string, create bool, gen func() ([]byte, error), check func([]byte) error) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if err := check(b); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) || !create {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if b, err = gen(); err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if err := writeSecretFile(path, b); err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return b, nil
}

func randomBytes(n int) func() ([]byte, error) {
	return func() ([]byte, error) {
		b := make([]byte, n)
		_, err := rand.Read(b)
		return b, err
	}
}

func exactly(n int) func([]byte) error {
	return func(b []byte) error {
		if len(b) != n {
			return fmt.Errorf("want %d bytes, have %d", n, len(b))
		}
		return nil
	}
}

func atLeast(n int) func([]byte) error {
	return func(b []byte) error {
		if len(b) < n {
			return fmt.Errorf("too short: want at least %d bytes, have %d", n, len(b))
		}
		return nil
	}
}

// writeSecretFile writes data to path with mode 0600, durably and
// atomically (a crash leaves the old file or the new one, never half).
func writeSecretFile(path string, data []byte) error {
	tmp := path + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// hasBlocks reports whether the block store holds at least one block: a
// flatfs shard directory with a .data file in it.
func (l Layout) hasBlocks() bool {
	shards, err := os.ReadDir(l.Blocks())
	if err != nil {
		return false
	}
	for _, sh := range shards {
		if !sh.IsDir() {
			continue
		}
		f, err := os.Open(filepath.Join(l.Blocks(), sh.Name()))
		if err != nil {
			continue
		}
		names, _ := f.Readdirnames(8)
		f.Close()
		for _, n := range names {
			if filepath.Ext(n) == ".data" {
				return true
			}
		}
	}
	return false
}

// dbState says whether the database file is there and has content.
func (l Layout) dbState() (exists, empty bool) {
	fi, err := os.Stat(l.DB())
	if err != nil {
		return false, true
	}
	return true, fi.Size() == 0
}
