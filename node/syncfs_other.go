//go:build !linux

package node

import (
	ds "github.com/ipfs/go-datastore"
	flatfs "github.com/ipfs/go-ds-flatfs"
)

// openFlatfs opens the flatfs block store with flatfs's own per-file
// fsync: without Linux's syncfs there is no cheaper way to make a put
// durable, since flatfs's Sync is a no-op.
func openFlatfs(dir string) (ds.Batching, error) {
	return flatfs.CreateOrOpen(dir, flatfs.NextToLast(2), true)
}
