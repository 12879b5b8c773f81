package api

// BackupFormat is the version of the backup layout BackupManifest
// describes; restore refuses a newer one.
const BackupFormat = 1

// BackupRequest is the body of POST /admin/backup (admin socket only).
type BackupRequest struct {
	// Dest is the backup directory, an absolute path on the server's
	// machine, written by the server process.
	Dest string `json:"dest"`
}

// BackupEvent is one line of POST /admin/backup's answer, newline-delimited
// JSON: progress lines, then one line with Done or Error.
type BackupEvent struct {
	Progress *BackupProgress `json:"progress,omitempty"`
	Done     *BackupManifest `json:"done,omitempty"`
	Error    *ErrorDetail    `json:"error,omitempty"`
}

// BackupProgress counts the blocks a backup has gone through so far.
type BackupProgress struct {
	Blocks int64 `json:"blocks"`
	Copied int64 `json:"copied"`
	Bytes  int64 `json:"bytes"`
}

// BackupManifest is DEST/manifest.json: what a backup holds. It is
// written last, so a directory with a manifest holds a complete backup
// (an interrupted later run leaves the previous one usable).
type BackupManifest struct {
	Format       int    `json:"format"`
	Created      string `json:"created"` // RFC 3339, when the database snapshot was taken
	NinjaVersion string `json:"ninjaVersion"`
	// Schema is the database's schema version; a newer binary migrates it
	// on first start after a restore, an older one refuses it.
	Schema uint64 `json:"schemaVersion"`
	// Pins are the pin records of the snapshot; Roots the distinct CIDs
	// they reference.
	Pins  int `json:"pins"`
	Roots int `json:"roots"`
	// Blocks and Bytes are every block reachable from the roots that the
	// backup holds; Copied and CopiedBytes those this run copied (the
	// rest were there from an earlier run).
	Blocks      int64 `json:"blocks"`
	Bytes       int64 `json:"bytes"`
	Copied      int64 `json:"copiedBlocks"`
	CopiedBytes int64 `json:"copiedBytes"`
	// Missing are reachable blocks the server did not have (pins still
	// fetching); Corrupt those it had damaged, left out.
	Missing int64 `json:"missingBlocks"`
	Corrupt int64 `json:"corruptBlocks"`
	// Secrets are the key files copied (secret.key, jwt.key, identity.key).
	Secrets []string `json:"secrets"`
}

// BackupVerification is what `ninja backup --verify` found.
type BackupVerification struct {
	Manifest BackupManifest `json:"manifest"`
	Blocks   int64          `json:"blocks"`
	Bytes    int64          `json:"bytes"`
	// Corrupt are block files whose bytes do not hash to their name.
	Corrupt []string `json:"corrupt"`
	// Incomplete are the pinned CIDs whose DAG lacks blocks, with the
	// number missing.
	Incomplete map[string]int `json:"incomplete"`
	// Problems are everything else wrong (a missing secret, a database
	// that does not open).
	Problems []string `json:"problems"`
	OK       bool     `json:"ok"`
}
