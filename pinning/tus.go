package pinning

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Resumable uploads: one file sent over several requests (the tus
// protocol, in server/tus.go), surviving dropped connections and restarts.
//
//	CreateResumable  the checks of any upload that need no bytes (scope, rate
//	                 limits, the credential's size and type limits against the
//	                 declared length and type, bound parameters, quota), and
//	                 the token's use reserved in a durable record
//	WriteResumable   append bytes at the upload's offset; the first bytes are
//	                 sniffed and checked as soon as they arrive
//	FinishResumable  once every byte is here: the same Upload as any other
//	                 (AddFile on the assembled file, Finish), whose commit
//	                 also completes the record; idempotent
//	TerminateResumable, expiry  delete the record (the use released, not
//	                 counted) and the bytes
//
// The bytes live in one file per upload in ResumableConfig.Dir, named by
// the upload's id; the record is the store's. The offset is the file's
// size, so what a restart finds on disk is what the client is told.
// Every operation names the credential: an upload is visible only to the
// credential that created it (ErrNotFound to any other).

// ResumableConfig configures resumable uploads.
type ResumableConfig struct {
	// Dir holds the partial uploads' bytes; "" disables resumable uploads
	// (ErrUnavailable).
	Dir string
	// TTL is how long an incomplete upload lives (at most as long as the
	// credential that created it); 0 means 24 hours.
	TTL time.Duration
	// SweepInterval is how often expired uploads are deleted; 0 means a
	// minute, negative never (tests call SweepResumables).
	SweepInterval time.Duration
}

// ResumableSpec is what a client declares when it creates a resumable
// upload.
type ResumableSpec struct {
	Length      int64
	Name        string // the file's name ("" for none)
	Description string
	Metadata    map[string]string // the pin's metadata
	Type        string            // the declared media type
	CIDVersion  *int
	// CAR marks bytes that are a CAR to import (Pinata's car option).
	CAR bool
	// Raw is the client's metadata as sent, echoed back by Resumable.
	Raw map[string]string
}

// Resumable is what a client may learn about its resumable upload.
type Resumable struct {
	ID        string
	Length    int64
	Offset    int64 // bytes received
	ExpiresAt time.Time
	Raw       map[string]string
	// CID is set once the upload is pinned.
	CID string
}

// sniffLen is how many first bytes are sniffed as soon as they arrive
// (token.Sniff reads at most 512).
const sniffLen = 512

// resumables is the service's state for resumable uploads.
type resumables struct {
	cfg   ResumableConfig
	locks keyedMutex

	mu        sync.Mutex
	followers map[string]*follower // uploads being imported as they arrive (tus_follow.go)
}

func newResumables(cfg ResumableConfig) (*resumables, error) {
	if cfg.Dir == "" {
		return nil, nil
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 24 * time.Hour
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = time.Minute
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("resumable uploads: %w", err)
	}
	return &resumables{cfg: cfg, locks: keyedMutex{m: map[string]*keyedEntry{}}, followers: map[string]*follower{}}, nil
}

func (r *resumables) path(id string) string { return filepath.Join(r.cfg.Dir, id) }

// CreateResumable checks a new resumable upload as any upload is checked
// before its first byte and records it, reserving an upload token's use
// until the upload completes, is terminated or expires.
func (s *Service) CreateResumable(ctx context.Context, p Principal, spec ResumableSpec) (Resumable, error) {
	if s.tus == nil {
		return Resumable{}, fmt.Errorf("%w: resumable uploads are not enabled on this server", ErrUnavailable)
	}
	if err := s.admitUpload(p); err != nil {
		return Resumable{}, err
	}
	if err := s.checkSpec(p, spec); err != nil {
		return Resumable{}, err
	}
	rec := store.TusUpload{AccountID: p.AccountID, KeyID: p.IssuerKeyID, CredentialID: p.CredentialID,
		Length: spec.Length, Metadata: spec.Raw, Name: spec.Name, Description: spec.Description,
		PinMetadata: spec.Metadata, Type: spec.Type, CIDVersion: spec.CIDVersion, CAR: spec.CAR,
		ExpiresAt: s.now().Add(s.tus.cfg.TTL).UTC()}
	// An upload cannot outlive the credential that must continue it.
	if !p.ExpiresAt.IsZero() && p.ExpiresAt.Before(rec.ExpiresAt) {
		rec.ExpiresAt = p.ExpiresAt.UTC()
	}
	if p.Kind == token.KindUploadToken {
		ok, err := s.store.Reserve(p.CredentialID)
		if err != nil {
			return Resumable{}, fmt.Errorf("reserve upload: %w", err)
		}
		if !ok {
			return Resumable{}, fmt.Errorf("%w: the token has no uploads left", token.ErrExhausted)
		}
		rec.TokenID = p.CredentialID
	}
	rec, err := s.store.CreateTusUpload(rec)
	if err != nil {
		if p.Kind == token.KindUploadToken {
			s.store.Release(p.CredentialID, "")
		}
		return Resumable{}, limitErr(err)
	}
	return Resumable{ID: rec.ID, Length: rec.Length, ExpiresAt: rec.ExpiresAt, Raw: rec.Metadata}, nil
}

// checkSpec refuses, before any byte is sent, what the upload would be
// refused for at its end: its length past a limit, its declared type, a
// file name that is not one, parameters that differ from what the
// credential binds.
func (s *Service) checkSpec(p Principal, spec ResumableSpec) error {
	switch {
	case spec.Length < 0:
		return fmt.Errorf("%w: the upload's length is negative", ErrInvalid)
	case spec.Length > s.maxUpload:
		return fmt.Errorf("%w: the upload is %d bytes; this server takes at most %d", token.ErrSizeExceeded, spec.Length, s.maxUpload)
	case p.MaxFileBytes > 0 && spec.Length > p.MaxFileBytes:
		return fmt.Errorf("%w: the file is %d bytes, larger than the credential's limit of %d bytes", token.ErrSizeExceeded, spec.Length, p.MaxFileBytes)
	}
	if spec.Name != "" {
		name, err := CleanPath(spec.Name)
		if err != nil {
			return err
		}
		if p.Upload != nil && strings.Contains(name, "/") {
			return fmt.Errorf("%w: file name %q: an upload JWT uploads one file, not a directory", token.ErrParamMismatch, name)
		}
	}
	if t := spec.Type; t != "" && !spec.CAR {
		// The declared type alone; the bytes are checked when they come.
		if err := token.CheckMime(p.AllowedMimeTypes, token.File{DeclaredType: t, SniffedType: t, Name: spec.Name}); err != nil {
			return err
		}
	}
	if spec.CAR {
		if err := p.CheckFile(token.File{Size: spec.Length, DeclaredType: CARType, SniffedType: CARType}); err != nil {
			return err
		}
	}
	probe := &Upload{p: p, cidVersion: spec.CIDVersion}
	if p.Upload != nil {
		if _, err := p.Upload.CheckRequest(token.Params{CIDVersion: spec.CIDVersion}); err != nil {
			return err
		}
	}
	_, err := probe.bind(Describe{Name: spec.Name, Description: spec.Description, Metadata: spec.Metadata})
	return err
}

// lookup returns p's resumable upload id; any other credential's, or none,
// is ErrNotFound.
func (s *Service) lookup(p Principal, id string) (store.TusUpload, error) {
	if s.tus == nil {
		return store.TusUpload{}, fmt.Errorf("%w: resumable uploads are not enabled on this server", ErrUnavailable)
	}
	rec, err := s.store.TusUpload(id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !boundTo(rec, p)) {
		return store.TusUpload{}, fmt.Errorf("%w: no upload %q", ErrNotFound, id)
	}
	if err != nil {
		return store.TusUpload{}, fmt.Errorf("look up upload: %w", err)
	}
	if rec.Open() && !s.now().Before(rec.ExpiresAt) {
		return store.TusUpload{}, fmt.Errorf("%w: upload %q expired", ErrNotFound, id)
	}
	return rec, nil
}

// createdResumable reports whether the upload JWT jti, signed by a key of
// issuer, created the resumable upload id.
func (s *Service) createdResumable(id, jti string, issuer store.APIKey) bool {
	if id == "" || s.tus == nil {
		return false
	}
	rec, err := s.store.TusUpload(id)
	return err == nil && rec.CredentialID == jti && rec.AccountID == issuer.AccountID && rec.KeyID == issuer.ID
}

func boundTo(rec store.TusUpload, p Principal) bool {
	return rec.CredentialID == p.CredentialID && rec.AccountID == p.AccountID && rec.KeyID == p.IssuerKeyID
}

// Resumable reports p's resumable upload id: how many bytes are here, and
// its CID once it is pinned.
func (s *Service) Resumable(ctx context.Context, p Principal, id string) (Resumable, error) {
	rec, err := s.lookup(p, id)
	if err != nil {
		return Resumable{}, err
	}
	return s.describe(rec)
}

func (s *Service) describe(rec store.TusUpload) (Resumable, error) {
	r := Resumable{ID: rec.ID, Length: rec.Length, ExpiresAt: rec.ExpiresAt, Raw: rec.Metadata, CID: rec.CID}
	if !rec.Open() {
		r.Offset = rec.Length
		return r, nil
	}
	fi, err := os.Stat(s.tus.path(rec.ID))
	switch {
	case errors.Is(err, os.ErrNotExist): // nothing written yet
	case err != nil:
		return Resumable{}, fmt.Errorf("stat upload %s: %w", rec.ID, err)
	default:
		r.Offset = min(fi.Size(), rec.Length)
	}
	return r, nil
}

// WriteResumable appends r's bytes to p's upload id, which must hold
// exactly offset bytes, and returns how many it wrote; at most the bytes
// the upload still lacks are read. A read error of r ends the write and
// keeps what arrived (the client resumes from there). The first bytes are
// checked against the credential's allowed types as soon as they are
// here: a refusal deletes the upload. verify, if set, is asked once r is
// exhausted; its error discards what this call wrote (a checksum that
// does not match).
func (s *Service) WriteResumable(ctx context.Context, p Principal, id string, offset int64, r io.Reader, verify func() error) (int64, error) {
	unlock := s.tus.locks.lock(id)
	defer unlock()
	rec, err := s.lookup(p, id)
	if err != nil {
		return 0, err
	}
	cur, err := s.describe(rec)
	if err != nil {
		return 0, err
	}
	if !rec.Open() || cur.Offset == rec.Length {
		return 0, nil
	}
	if offset != cur.Offset {
		return 0, fmt.Errorf("%w: the upload has %d bytes, not %d", ErrConflict, cur.Offset, offset)
	}
	f, err := os.OpenFile(s.tus.path(id), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("open upload %s: %w", id, err)
	}
	defer f.Close()
	fl, ferr := s.follow(p, rec, offset, false)
	if ferr != nil {
		// FinishResumable imports the file then; only the overlap is lost.
		s.log.Debug("resumable upload: not followed", "id", id, "err", ferr)
	}
	w := &publishingWriter{f: f, fl: fl, off: offset}
	if verify != nil {
		w.fl = nil // published once verified
	}
	n, err := s.appendChunk(ctx, p, rec, w, offset, io.LimitReader(r, rec.Length-offset))
	if err == nil && verify != nil {
		err = verify()
	}
	if err == nil && fl != nil {
		fl.publish(offset + n)
	}
	if err != nil {
		// Nothing unverified or refused is kept.
		if terr := f.Truncate(offset); terr != nil {
			return 0, fmt.Errorf("discard a chunk of upload %s: %w", id, terr)
		}
		return 0, err
	}
	// A chunk the upload continues after is made durable, so the offset a
	// client is told survives a power cut; the last one becomes blocks at
	// once, made durable by their commit.
	if offset+n < rec.Length {
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("sync upload %s: %w", id, err)
		}
	}
	return n, nil
}

// appendChunk writes r at offset, checking the upload's first bytes once
// they are all here.
func (s *Service) appendChunk(ctx context.Context, p Principal, rec store.TusUpload, w *publishingWriter, offset int64, r io.Reader) (int64, error) {
	f := w.f
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, fmt.Errorf("seek upload %s: %w", rec.ID, err)
	}
	var n int64
	head := min(int64(sniffLen), rec.Length)
	if offset < head {
		m, err := io.CopyN(w, r, head-offset)
		n += m
		if err != nil && !errors.Is(err, io.EOF) {
			return n, fmt.Errorf("write upload %s: %w", rec.ID, err)
		}
		if offset+m == head {
			if err := s.checkHead(p, rec, f, head); err != nil {
				s.dropResumable(rec)
				return 0, err
			}
		}
		if offset+m < head {
			return n, nil // the body ended before the head was complete
		}
	}
	buf := make([]byte, 256<<10)
	m, err := io.CopyBuffer(w, r, buf)
	n += m
	if err != nil {
		return n, fmt.Errorf("write upload %s: %w", rec.ID, err)
	}
	return n, ctx.Err()
}

// checkHead sniffs the upload's first head bytes and checks its type as
// AddFile will at the end.
func (s *Service) checkHead(p Principal, rec store.TusUpload, f *os.File, head int64) error {
	if rec.CAR {
		return nil // a CAR is checked block by block when imported
	}
	b := make([]byte, head)
	if _, err := f.ReadAt(b, 0); err != nil {
		return fmt.Errorf("read upload %s: %w", rec.ID, err)
	}
	return p.CheckFile(token.File{Size: rec.Length, DeclaredType: rec.Type, SniffedType: token.Sniff(b), Name: rec.Name})
}

// FinishResumable pins p's complete upload id: its file goes through the
// same Upload as every other upload (AddFile, then Finish, whose commit
// completes the record and counts the use). A completed upload gives its
// pin again. A refusal (the bytes' type, a size limit, a bound parameter)
// deletes the upload; any other failure keeps it, to be finished again.
func (s *Service) FinishResumable(ctx context.Context, p Principal, id string) (store.Pin, error) {
	unlock := s.tus.locks.lock(id)
	defer unlock()
	rec, err := s.lookup(p, id)
	if err != nil {
		return store.Pin{}, err
	}
	if !rec.Open() {
		return s.completedPin(rec), nil
	}
	cur, err := s.describe(rec)
	if err != nil {
		return store.Pin{}, err
	}
	if cur.Offset != rec.Length {
		return store.Pin{}, fmt.Errorf("%w: the upload has %d of its %d bytes", ErrInvalid, cur.Offset, rec.Length)
	}
	pin, err := s.importResumable(ctx, p, rec)
	if err != nil {
		if refusal(err) {
			s.dropResumable(rec)
		}
		return store.Pin{}, err
	}
	if err := os.Remove(s.tus.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("resumable upload: remove its bytes", "id", id, "err", err)
	}
	return pin, nil
}

func (s *Service) completedPin(rec store.TusUpload) store.Pin {
	if pin, err := s.store.Pin(rec.AccountID, rec.PinID); err == nil {
		return pin
	}
	// Unpinned since: the CID is still what the upload gave.
	return store.Pin{ID: rec.PinID, AccountID: rec.AccountID, CID: rec.CID, Name: rec.Name, Size: rec.Length}
}

// importResumable finishes the upload's follower (started now on the
// complete file if none runs): it reads the last bytes, then Finish
// commits.
func (s *Service) importResumable(ctx context.Context, p Principal, rec store.TusUpload) (store.Pin, error) {
	fl, err := s.follow(p, rec, rec.Length, true)
	if err != nil {
		return store.Pin{}, err
	}
	defer s.unfollow(rec.ID) // Finish ends the Upload either way
	fl.publish(rec.Length)
	select {
	case <-fl.done:
	case <-ctx.Done():
		return store.Pin{}, ctx.Err()
	}
	if fl.err != nil {
		return store.Pin{}, fl.err
	}
	pins, err := fl.u.Finish(ctx, Describe{Name: rec.Name, Description: rec.Description, Metadata: rec.PinMetadata})
	if err != nil {
		return store.Pin{}, err
	}
	return pins[0], nil
}

// refusal reports an error that finishing again would meet again: the
// upload is deleted rather than kept. A quota is not one (the operator may
// raise it, an unpin may free it), nor is a failure of the server's own.
func refusal(err error) bool {
	for _, e := range []error{token.ErrSizeExceeded, token.ErrMimeNotAllowed, token.ErrParamMismatch,
		token.ErrForbidden, ErrInvalid, ErrInvalidContent, node.ErrInvalidCAR, node.ErrBadPath, node.ErrBadDAG, node.ErrLimit} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// TerminateResumable deletes p's upload id (the tus termination): an
// incomplete one's reservation is released, not counted, and its bytes
// deleted; a completed one's record goes, its pin stays.
func (s *Service) TerminateResumable(ctx context.Context, p Principal, id string) error {
	unlock := s.tus.locks.lock(id)
	defer unlock()
	rec, err := s.lookup(p, id)
	if err != nil {
		return err
	}
	return s.dropResumable(rec)
}

// dropResumable deletes an upload's record, then its bytes (a crash in
// between leaves an orphan file, which the sweeper removes).
func (s *Service) dropResumable(rec store.TusUpload) error {
	s.unfollow(rec.ID)
	if _, err := s.store.DeleteTusUpload(rec.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete upload %s: %w", rec.ID, err)
	}
	if err := os.Remove(s.tus.path(rec.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete upload %s: %w", rec.ID, err)
	}
	return nil
}
