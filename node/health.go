package node

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Check reports whether the node can take uploads: its block store's
// directory is writable (a probe file is created and removed) and, unless
// the node runs without a network, its libp2p host is up.
func (n *Node) Check() error {
	if n.blocksDir != "" {
		f, err := os.CreateTemp(n.blocksDir, ".probe-*")
		if err != nil {
			return fmt.Errorf("block store not writable: %w", err)
		}
		name := f.Name()
		f.Close()
		os.Remove(name)
	}
	if !n.noNetwork && n.host == nil {
		return fmt.Errorf("libp2p host not started")
	}
	return nil
}

// FreeBytes is the space left on the block store's filesystem for an
// unprivileged writer.
func (n *Node) FreeBytes() (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(n.blocksDir, &st); err != nil {
		return 0, fmt.Errorf("free space: %w", err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil // Bsize is int64 on Linux, uint32 on macOS
}

// blocksDirOf is where a data directory keeps its blocks.
func blocksDirOf(dataDir string) string { return filepath.Join(dataDir, "blocks") }
