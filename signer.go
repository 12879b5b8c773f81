package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ninja-ipfs/ninja/token"
)

// jwtKeyPath holds the Ed25519 seed that signs access JWTs (0600).
func jwtKeyPath(dataDir string) string { return filepath.Join(dataDir, "jwt.key") }

// loadSigner reads the access-JWT signing key, creating it on first use.
// Its public half is published at /.well-known/jwks.json.
func loadSigner(dataDir string) (*token.Signer, error) {
	p := jwtKeyPath(dataDir)
	seed, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		seed = make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		if err := writeSecretFile(p, seed); err != nil {
			return nil, fmt.Errorf("write jwt key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read jwt key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("jwt key %s: want %d bytes, have %d", p, ed25519.SeedSize, len(seed))
	}
	return token.NewSigner(ed25519.NewKeyFromSeed(seed)), nil
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
