package node

import (
	"fmt"

	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// Profile names a UnixFS import profile (IPIP-499). The same bytes imported
// under the same profile give the same CID as Kubo v0.43.0.
type Profile string

const (
	// ProfileV1 is the default: CIDv1, raw leaves, sha2-256, 1 MiB chunks,
	// 1024 links per node, balanced layout. Kubo equivalent:
	// ipfs add --cid-version=1 --raw-leaves --chunker=size-1048576 --max-file-links=1024
	ProfileV1 Profile = "unixfs-v1-2025"
	// ProfileV0 is Kubo's historical default: CIDv0, 256 KiB chunks, 174
	// links per node, balanced layout, UnixFS (not raw) leaves.
	ProfileV0 Profile = "unixfs-v0-2015"
)

// profileParams is what a Profile means to boxo's importer.
type profileParams struct {
	chunkSize  int64
	maxLinks   int
	rawLeaves  bool
	cidBuilder cid.Builder // for dag-pb nodes; raw leaves derive theirs from it
}

// params resolves p; the empty Profile means ProfileV1.
func (p Profile) params() (profileParams, error) {
	switch p {
	case ProfileV1, "":
		prefix := merkledag.V1CidPrefix() // dag-pb, sha2-256, full length
		prefix.MhType = mh.SHA2_256
		return profileParams{chunkSize: 1 << 20, maxLinks: 1024, rawLeaves: true, cidBuilder: prefix}, nil
	case ProfileV0:
		// 174 is boxo's helpers.DefaultLinksPerBlock; spelled out because
		// that package variable is mutable and must not be relied upon.
		return profileParams{chunkSize: chunker.DefaultBlockSize, maxLinks: 174, cidBuilder: merkledag.V0CidPrefix()}, nil
	default:
		return profileParams{}, fmt.Errorf("%w: %q", ErrUnknownProfile, string(p))
	}
}
