package pinning

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// CARType is the media type of a CAR upload, recorded as its pins' type.
const CARType = "application/vnd.ipld.car"

// ImportOptions change how an upload's bytes become blocks, so they must be
// known before its first byte.
type ImportOptions struct {
	// CIDVersion 0 selects the unixfs-v0-2015 profile, 1 (the default,
	// nil) unixfs-v1-2025.
	CIDVersion *int
}

// Describe holds what only describes an upload's pin. It may be known at
// any point before Finish: a form may send its fields after its files.
type Describe struct {
	Name        string
	Description string
	Metadata    map[string]string
	// Fields are ImageKit's other upload parameters as the form sent them
	// (tags, folder, customMetadata, …); see fields.go for what each does.
	Fields map[string]string
	// WrapWithDirectory changes the root, not the blocks, so it too may
	// come after the files.
	WrapWithDirectory *bool
	// Group is a group of the account the upload's pins join, in the
	// commit that records them ("": none).
	Group string
}

// File is one file an upload added.
type File struct {
	CID      cid.Cid
	Path     string // its path inside the upload
	Size     int64
	MimeType string // sniffed from its first bytes
	named    bool   // the client gave a name (else Path is "file")
}

// Upload is one upload's lifetime, the spine of the program:
//
//	BeginUpload  reserve a use of the credential (atomic), open an import
//	AddFile…     stream each file into blocks, checking type and size on the real bytes
//	Finish       bind the parameters, build the root, make the blocks durable,
//	             record the pins and the use in one durable commit, hand
//	             the roots to their pins for GC, announce them
//	Abort        release the use; blocks already written are left for GC
//
// Only after Finish returns may the client be told. The methods of one
// Upload must not be called concurrently.
type Upload struct {
	s          *Service
	p          Principal
	imp        *node.Import
	cidVersion *int // as the request set it (nil: not set)
	tokenID    string
	tusID      string // the resumable upload this finishes (tus.go)
	limit      int64  // bytes this upload may read in all
	read       int64
	files      []File
	carRoots   []cid.Cid
	ended      bool
}

// BeginUpload starts an upload for p: an upload token's use is reserved
// here (with k uses left, k parallel uploads begin and the rest get
// token.ErrExhausted), and released by Abort unless Finish counts it. It
// refuses first, reserving nothing, when the database file is gone
// (ErrNotReady) or free space is under the floor (ErrInsufficientStorage).
func (s *Service) BeginUpload(ctx context.Context, p Principal, opts ImportOptions) (*Upload, error) {
	if err := s.admitUpload(p); err != nil {
		return nil, err
	}
	return s.beginUpload(p, opts.CIDVersion, nil)
}

// admitUpload checks what every upload (multipart, CAR or resumable)
// checks before its first byte: the scope, that the database is there and
// the disk has room, and the rate limits of the credential and of the
// client address.
func (s *Service) admitUpload(p Principal) error {
	if !p.Allows(token.ScopeUpload) {
		return fmt.Errorf("%w: %v lacks scope %q", token.ErrForbidden, p.Kind, token.ScopeUpload)
	}
	if err := s.checkWritable(); err != nil {
		return err
	}
	if err := s.limits.uploadsByCredential.allow(p.CredentialID, s.now()); err != nil {
		return err
	}
	if p.ClientIP.IsValid() {
		if err := s.limits.uploadsByAddress.allow(p.ClientIP.String(), s.now()); err != nil {
			return err
		}
	}
	return nil
}

// beginUpload reserves an upload token's use and opens the import. A
// resumable upload's (tus set) use is held by its record already: none
// is reserved, and Finish counts the record's; the token's total counts
// the record's length as taken, so it is given back to this upload.
func (s *Service) beginUpload(p Principal, cidVersion *int, tus *store.TusUpload) (*Upload, error) {
	tusID := ""
	if tus != nil {
		tusID = tus.ID
	}
	cv := cidVersion
	if p.Upload != nil {
		// An upload JWT signs the import options too: a request may not set
		// one it does not sign, and one it signs applies when omitted.
		bound, err := p.Upload.CheckRequest(token.Params{CIDVersion: cidVersion})
		if err != nil {
			return nil, err
		}
		cv = bound.CIDVersion
	}
	u := &Upload{s: s, p: p, cidVersion: cidVersion, limit: s.maxUpload, tusID: tusID}
	if p.Kind == token.KindUploadToken {
		if tusID == "" {
			ok, err := s.store.Reserve(p.CredentialID)
			if err != nil {
				return nil, fmt.Errorf("reserve upload: %w", err)
			}
			if !ok {
				return nil, fmt.Errorf("%w: the token has no uploads left", token.ErrExhausted)
			}
		}
		u.tokenID = p.CredentialID
		if p.MaxTotalBytes > 0 {
			left, err := s.store.Remaining(p.CredentialID)
			if err != nil {
				u.release()
				return nil, fmt.Errorf("reserve upload: %w", err)
			}
			if left >= 0 && tus != nil && tus.Open() {
				left += tus.Length
			}
			if left >= 0 && left < u.limit {
				u.limit = left
			}
		}
	}
	u.imp = s.node.NewImport(profileFor(cv))
	return u, nil
}

func profileFor(cidVersion *int) node.Profile {
	if cidVersion != nil && *cidVersion == 0 {
		return node.ProfileV0
	}
	return node.ProfileV1
}

// Principal is the caller the upload was begun for.
func (u *Upload) Principal() Principal { return u.p }

// Read is how many bytes of file content the upload has read so far.
func (u *Upload) Read() int64 { return u.read }

// fileLimit is the most bytes the next file may have.
func (u *Upload) fileLimit() int64 {
	limit := u.limit - u.read
	if u.p.MaxFileBytes > 0 && u.p.MaxFileBytes < limit {
		limit = u.p.MaxFileBytes
	}
	return limit
}

// FileInfo is what the client said about a file.
type FileInfo struct {
	// Name is its path inside the upload ("" means "file"; "/" separates
	// directories).
	Name string
	// DeclaredType is the Content-Type the client gave ("" if none); both
	// it and the sniffed type must pass a credential's allowedMimeTypes.
	DeclaredType string
	// Type, when set, is recorded as the file's type instead of the
	// sniffed one (JSON content is application/json, whatever it sniffs as).
	Type string
}

// AddFile streams one file into the upload. The first bytes are sniffed
// for the type check and the stream is cut off at the size limit, so a
// refused file costs at most the limit.
func (u *Upload) AddFile(ctx context.Context, r io.Reader, info FileInfo) (File, error) {
	name, declared := info.Name, info.DeclaredType
	if u.carRoots != nil {
		return File{}, fmt.Errorf("%w: a CAR upload takes no other files", ErrInvalid)
	}
	if len(u.files) >= u.s.maxFiles {
		return File{}, fmt.Errorf("%w: an upload has at most %d files", ErrInvalid, u.s.maxFiles)
	}
	p, err := CleanPath(name)
	if err != nil {
		return File{}, err
	}
	if u.p.Upload != nil {
		// An upload JWT signs one file: a second part, or a path that would
		// build a directory the payload did not sign, is a mismatch.
		if len(u.files) > 0 {
			return File{}, fmt.Errorf("%w: an upload JWT authorizes one file", token.ErrParamMismatch)
		}
		if strings.Contains(p, "/") {
			return File{}, fmt.Errorf("%w: file name %q: an upload JWT uploads one file, not a directory", token.ErrParamMismatch, p)
		}
	}
	br := bufio.NewReaderSize(r, 4096)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return File{}, fmt.Errorf("read upload: %w", err)
	}
	sniffed := token.Sniff(head)
	if err := u.p.CheckFile(token.File{Size: -1, DeclaredType: declared, SniffedType: sniffed, Name: p}); err != nil {
		return File{}, err
	}
	lr := &limitReader{r: br, left: u.fileLimit(), limit: u.p.MaxFileBytes, total: u.limit}
	c, n, err := u.imp.AddFile(ctx, lr)
	u.read += int64(n)
	if err != nil {
		return File{}, err
	}
	f := File{CID: c, Path: p, Size: int64(n), MimeType: sniffed, named: name != ""}
	if info.Type != "" {
		f.MimeType = info.Type
	}
	u.files = append(u.files, f)
	return f, nil
}

// AddCAR imports a CAR stream as the upload: every block's hash is
// verified, and Finish pins its roots once it has checked that the CAR
// (with what is here already) holds each root's whole DAG.
func (u *Upload) AddCAR(ctx context.Context, r io.Reader, declaredSize int64) ([]cid.Cid, error) {
	if len(u.files) > 0 || u.carRoots != nil {
		return nil, fmt.Errorf("%w: a CAR upload is one CAR and nothing else", ErrInvalid)
	}
	if err := u.p.CheckFile(token.File{Size: declaredSize, DeclaredType: CARType, SniffedType: CARType}); err != nil {
		return nil, err
	}
	lr := &limitReader{r: r, left: u.fileLimit(), limit: u.p.MaxFileBytes, total: u.limit}
	roots, err := u.imp.AddCAR(ctx, lr)
	u.read += lr.n
	if err != nil {
		return nil, err
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("%w: the CAR has no roots", ErrInvalidContent)
	}
	// A root named twice is one pin.
	seen := make(map[cid.Cid]bool, len(roots))
	u.carRoots = make([]cid.Cid, 0, len(roots))
	for _, c := range roots {
		if !seen[c] {
			seen[c] = true
			u.carRoots = append(u.carRoots, c)
		}
	}
	if u.p.Upload != nil && len(u.carRoots) > 1 {
		return nil, fmt.Errorf("%w: an upload JWT authorizes one file, and this CAR has %d roots", token.ErrParamMismatch, len(u.carRoots))
	}
	return u.carRoots, nil
}

// Abort ends the upload without recording anything: the token use is
// released (not counted), and blocks already written are left for GC.
// Safe to call more than once, and after Finish (then it does nothing).
func (u *Upload) Abort() {
	if u.ended {
		return
	}
	u.ended = true
	u.imp.Abort()
	u.release()
}

// release gives back the use BeginUpload reserved. A resumable upload's
// use stays with its record: the upload may be finished again.
func (u *Upload) release() {
	if u.tokenID != "" && u.tusID == "" {
		u.s.store.Release(u.tokenID, "")
	}
}

// Finish binds the upload's parameters (a credential's bound name and
// metadata, an upload JWT's signed ones), builds its root, makes its blocks
// durable and records its pins with the token use in one durable commit.
// On error the upload is aborted. The returned pins are what the client
// may now be told.
func (u *Upload) Finish(ctx context.Context, d Describe) ([]store.Pin, error) {
	pins, err := u.finish(ctx, d)
	if err != nil {
		u.Abort()
		return nil, err
	}
	if r := u.s.repl; r != nil {
		r.poke()
		// The pins are recorded whatever the Cluster says: a timeout is
		// an error for the client, not a rollback.
		if err := r.awaitReplicas(ctx, pins); err != nil {
			return pins, err
		}
	}
	return pins, nil
}

func (u *Upload) finish(ctx context.Context, d Describe) ([]store.Pin, error) {
	if u.ended {
		return nil, errors.New("upload already ended")
	}
	if len(u.files) == 0 && u.carRoots == nil {
		return nil, fmt.Errorf("%w: the upload has no file", ErrInvalid)
	}
	params, err := u.bind(d)
	if err != nil {
		return nil, err
	}
	if err := u.s.checkGroup(u.p.AccountID, params.Group); err != nil {
		return nil, err
	}
	var pins []store.Pin
	if u.carRoots != nil {
		for _, root := range u.carRoots {
			pins = append(pins, store.Pin{CID: root.String(), Name: params.Name, Description: params.Description,
				Metadata: params.Metadata, MimeType: CARType, Size: u.read})
		}
	} else {
		root, name, mimeType, err := u.buildRoot(ctx, params.WrapWithDirectory)
		if err != nil {
			return nil, err
		}
		if params.Name != "" {
			name = params.Name
		}
		pins = []store.Pin{{CID: root.String(), Name: name, Description: params.Description,
			Metadata: params.Metadata, MimeType: mimeType, Size: u.read, Files: int64(len(u.files))}}
	}
	for i := range pins {
		if params.Group != "" {
			pins[i].JoinGroups = []string{params.Group}
		}
		if pins[i].Name, pins[i].Metadata, err = applyFields(pins[i].Name, pins[i].Metadata, params.Fields); err != nil {
			return nil, err
		}
	}
	return u.commit(ctx, pins)
}

// bind applies the credential's binding to the upload's parameters: an
// upload JWT's strict one (every parameter the request sets must be
// signed, with the same value), then the grant's bound name and metadata.
func (u *Upload) bind(d Describe) (token.Params, error) {
	if err := checkLabel("name", d.Name, MaxNameLen); err != nil {
		return token.Params{}, err
	}
	if err := checkLabel("description", d.Description, MaxDescLen); err != nil {
		return token.Params{}, err
	}
	if err := checkMetadata(d.Metadata); err != nil {
		return token.Params{}, err
	}
	p := token.Params{Name: d.Name, Description: d.Description, Metadata: d.Metadata, CIDVersion: u.cidVersion,
		WrapWithDirectory: d.WrapWithDirectory, Fields: d.Fields, Group: d.Group}
	if c := u.p.Upload; c != nil {
		var err error
		if p, err = c.CheckRequest(p); err != nil {
			return token.Params{}, err
		}
	}
	out, err := u.p.Bind(p)
	if err != nil {
		return token.Params{}, err
	}
	if len(out.Metadata) > MaxMetaKeys {
		return token.Params{}, fmt.Errorf("%w: metadata has %d keys with the credential's bound ones; at most %d are allowed", ErrInvalid, len(out.Metadata), MaxMetaKeys)
	}
	return out, nil
}

// buildRoot picks the upload's root. A single file without a directory in
// its name is its own root unless wrapWithDirectory is set. Otherwise the
// files form a directory; when every path shares one top directory (a
// folder upload, "site/a.txt", "site/b.txt"), that directory is the root,
// as `ipfs add -r site` gives, unless wrapWithDirectory asks for the wrapper.
func (u *Upload) buildRoot(ctx context.Context, wrapOpt *bool) (cid.Cid, string, string, error) {
	wrap := wrapOpt != nil && *wrapOpt
	if len(u.files) == 1 && !strings.Contains(u.files[0].Path, "/") && !wrap {
		f := u.files[0]
		if !f.named {
			return f.CID, "", f.MimeType, nil
		}
		return f.CID, f.Path, f.MimeType, nil
	}
	entries := make([]node.DirEntry, len(u.files))
	for i, f := range u.files {
		entries[i] = node.DirEntry{Path: f.Path, Cid: f.CID, Size: uint64(f.Size)}
	}
	name := ""
	if top, ok := commonTop(entries); ok && !wrap {
		name = top
		for i := range entries {
			entries[i].Path = strings.TrimPrefix(entries[i].Path, top+"/")
		}
	}
	root, err := u.imp.AddDirectory(ctx, entries)
	if err != nil {
		return cid.Undef, "", "", err
	}
	return root, name, "inode/directory", nil
}

// commonTop returns the first path segment when every entry lies below it.
func commonTop(entries []node.DirEntry) (string, bool) {
	top, _, ok := strings.Cut(entries[0].Path, "/")
	if !ok {
		return "", false
	}
	for _, e := range entries[1:] {
		if t, _, ok := strings.Cut(e.Path, "/"); !ok || t != top {
			return "", false
		}
	}
	return top, true
}

// commit makes the blocks durable, then records the pins and the token use
// in one durable transaction.
func (u *Upload) commit(ctx context.Context, pins []store.Pin) ([]store.Pin, error) {
	if err := u.imp.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit blocks: %w", err)
	}
	// A request cancelled (client gone, server shutting down) while its
	// blocks were written is not recorded: its client is not told.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if u.carRoots != nil {
		if err := u.checkCARRoots(ctx, pins); err != nil {
			return nil, err
		}
	}
	var use *store.TokenUse
	if u.tokenID != "" {
		use = &store.TokenUse{TokenID: u.tokenID, Bytes: u.read}
	}
	for i := range pins {
		pins[i].AccountID = u.p.AccountID
		pins[i].KeyID = u.p.IssuerKeyID
		pins[i].CredentialID = u.p.CredentialID
		pins[i].Prefix = u.p.Prefix
		pins[i].Status = store.StatusPinned
		if c, err := cid.Decode(pins[i].CID); err == nil && pins[i].DagSize == 0 {
			if size, ok := u.imp.RootSize(c); ok {
				pins[i].DagSize = int64(size)
			}
		}
	}
	var out []store.Pin
	var err error
	if u.tusID != "" {
		out, err = u.s.store.CompleteTusUpload(u.tusID, pins, use)
	} else {
		out, err = u.s.store.AddPins(pins, use)
	}
	if err != nil {
		return nil, limitErr(fmt.Errorf("record pins: %w", err))
	}
	u.ended = true
	// The pins are durable: GC may run again (it now sees them as roots).
	u.imp.Release()
	for _, p := range out {
		if c, err := cid.Decode(p.CID); err == nil {
			u.s.node.Announce(c)
		}
	}
	return out, nil
}

// checkCARRoots refuses a CAR whose roots' DAGs are not all here, as `ipfs
// dag import` does, and sizes each root by its own DAG.
func (u *Upload) checkCARRoots(ctx context.Context, pins []store.Pin) error {
	for i, root := range u.carRoots {
		size, complete, err := u.s.node.LocalDAG(ctx, root)
		if err != nil {
			return fmt.Errorf("check car root %s: %w", root, err)
		}
		if !complete {
			return fmt.Errorf("%w: the CAR does not hold the whole DAG of its root %s", ErrInvalidContent, root)
		}
		pins[i].DagSize, pins[i].Size = int64(size), int64(size)
	}
	return nil
}

// limitErr turns the store's counted-limit errors into the domain's: an
// upload token's cumulative bytes are its size limit, the rest quotas.
func limitErr(err error) error {
	var le *store.LimitError
	if !errors.As(err, &le) {
		return err
	}
	if le.Limit == store.LimitTokenBytes {
		return fmt.Errorf("%w: the token's total of %d bytes is used up", token.ErrSizeExceeded, le.Max)
	}
	return fmt.Errorf("%w: %s", ErrQuota, le)
}

// Path bounds of an upload's file names: a name (one path segment) is at
// most MaxNameLen bytes, as a pin's name is.
const (
	MaxPathLen   = 4096
	MaxPathDepth = 64
)

// CleanPath validates a file's path within an upload: relative, no "." or
// ".." segments, no empty segments, no backslashes, NULs or control
// characters, at most MaxPathLen bytes, MaxPathDepth segments and
// MaxNameLen bytes per segment. An empty name is "file".
func CleanPath(name string) (string, error) {
	if name == "" {
		return "file", nil
	}
	if len(name) > MaxPathLen {
		return "", fmt.Errorf("%w: a file name is %d bytes; at most %d are allowed", ErrInvalid, len(name), MaxPathLen)
	}
	if d := strings.Count(name, "/") + 1; d > MaxPathDepth {
		return "", fmt.Errorf("%w: a file path is %d directories deep; at most %d are allowed", ErrInvalid, d, MaxPathDepth)
	}
	bad := func() (string, error) {
		return "", fmt.Errorf("%w: invalid file name %q", ErrInvalid, truncate(name, 100))
	}
	if strings.ContainsAny(name, "\\") || strings.HasPrefix(name, "/") {
		return bad()
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return bad()
		}
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad()
		}
		if len(seg) > MaxNameLen {
			return "", fmt.Errorf("%w: a file name has a %d-byte segment; at most %d bytes are allowed", ErrInvalid, len(seg), MaxNameLen)
		}
	}
	if path.Clean(name) != name {
		return bad()
	}
	return name, nil
}

// truncate shortens s for a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// limitReader fails with token.ErrSizeExceeded as soon as more than left
// bytes arrive, so an oversized upload is cut off while it streams.
type limitReader struct {
	r            io.Reader
	left         int64
	limit, total int64 // for the message: the per-file and whole-upload limits
	n            int64 // bytes read
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.exceeded()
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.n += int64(n)
	if l.left < 0 {
		return 0, l.exceeded()
	}
	return n, err
}

func (l *limitReader) exceeded() error {
	if l.limit > 0 && l.limit <= l.total {
		return fmt.Errorf("%w: the file is larger than the credential's limit of %d bytes", token.ErrSizeExceeded, l.limit)
	}
	return fmt.Errorf("%w: the upload is larger than the %d bytes it may have", token.ErrSizeExceeded, l.total)
}
