package node

import (
	"context"
	"fmt"
	"sort"
	"strings"

	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// DirEntry is one file of a directory built by AddDirectory.
type DirEntry struct {
	// Path is slash-separated and relative, like "site/sub/c.txt".
	Path string
	// Cid is a file (or directory) already added in this session or
	// otherwise present locally.
	Cid cid.Cid
	// Size is the file's byte size. Informational: the directory's links
	// carry the DAG size read from the child block, as Kubo's do.
	Size uint64
}

// dirNode is a directory under construction: files by name, subdirectories by name.
type dirNode struct {
	files map[string]cid.Cid
	dirs  map[string]*dirNode
}

func newDirNode() *dirNode {
	return &dirNode{files: map[string]cid.Cid{}, dirs: map[string]*dirNode{}}
}

// AddDirectory builds the UnixFS directory tree holding entries (nested
// directories come from "/" in the paths) and returns the CID of its root,
// like `ipfs add -r -w`: entries "a.txt" and "sub/c.txt" give a root with
// a file a.txt and a directory sub. Paths that are absolute, empty, have
// empty, "." or ".." segments, or collide with each other fail with ErrBadPath.
// More entries than Limits.MaxEntries, or a path over Limits.MaxPathDepth
// segments, Limits.MaxPathBytes bytes or with a name over
// Limits.MaxNameBytes, fail with ErrLimit. Every path is checked before
// anything is built, so a refused directory writes no block.
func (im *Import) AddDirectory(ctx context.Context, entries []DirEntry) (cid.Cid, error) {
	if err := im.check(); err != nil {
		return cid.Undef, fmt.Errorf("import directory: %w", err)
	}
	lim := im.n.limits
	if len(entries) > lim.MaxEntries {
		return cid.Undef, fmt.Errorf("import directory: %w: %d entries is over the %d-entry limit", ErrLimit, len(entries), lim.MaxEntries)
	}
	root := newDirNode()
	for _, e := range entries {
		if err := lim.checkPath(e.Path); err != nil {
			return cid.Undef, fmt.Errorf("import directory: %w", err)
		}
		if err := root.insert(e.Path, e.Cid); err != nil {
			return cid.Undef, fmt.Errorf("import directory: %w", err)
		}
	}
	nd, err := im.buildDir(ctx, root)
	if err != nil {
		return cid.Undef, fmt.Errorf("import directory: %w", err)
	}
	im.addRoot(nd)
	return nd.Cid(), nil
}

// insert places c at path p, creating intermediate directories.
func (d *dirNode) insert(p string, c cid.Cid) error {
	if p == "" || strings.HasPrefix(p, "/") {
		return fmt.Errorf("%w: %q", ErrBadPath, p)
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || strings.ContainsRune(s, 0) {
			return fmt.Errorf("%w: %q", ErrBadPath, p)
		}
	}
	for _, s := range segs[:len(segs)-1] {
		if _, clash := d.files[s]; clash {
			return fmt.Errorf("%w: %q: %q is a file", ErrBadPath, p, s)
		}
		sub, ok := d.dirs[s]
		if !ok {
			sub = newDirNode()
			d.dirs[s] = sub
		}
		d = sub
	}
	name := segs[len(segs)-1]
	if _, clash := d.dirs[name]; clash {
		return fmt.Errorf("%w: %q is a directory", ErrBadPath, p)
	}
	if _, dup := d.files[name]; dup {
		return fmt.Errorf("%w: %q given twice", ErrBadPath, p)
	}
	d.files[name] = c
	return nil
}

// buildDir writes d and its subdirectories bottom-up and returns d's node.
// It configures directories as Kubo's MFS does for `ipfs add` (same CID
// builder, no link limit, default HAMT fanout and sharding threshold), so
// large directories switch to HAMT shards at the same point as Kubo's.
func (im *Import) buildDir(ctx context.Context, d *dirNode) (ipld.Node, error) {
	dir, err := uio.NewDirectory(im.w,
		uio.WithCidBuilder(im.params.cidBuilder),
		uio.WithMaxHAMTFanout(uio.DefaultShardWidth),
	)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(d.files)+len(d.dirs))
	for name := range d.files {
		names = append(names, name)
	}
	for name := range d.dirs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var child ipld.Node
		if sub, ok := d.dirs[name]; ok {
			child, err = im.buildDir(ctx, sub)
		} else {
			// The link's Tsize is the child's cumulative DAG size, which
			// only the child's block knows, so it is read back.
			child, err = im.w.Get(ctx, d.files[name])
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := dir.AddChild(ctx, name, child); err != nil {
			return nil, fmt.Errorf("add %s: %w", name, err)
		}
	}
	nd, err := dir.GetNode()
	if err != nil {
		return nil, err
	}
	if err := im.w.Add(ctx, nd); err != nil {
		return nil, err
	}
	return nd, nil
}
