package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"sync"

	"github.com/ninja-ipfs/ninja/pinning"
)

// Spooling files sent before their credential. A form whose `token` field
// follows its file (ImageKit's client upload appends file, fileName, token
// in that order) cannot be authenticated before the file has been read.
// Those files go to temporary files in the data directory (never memory),
// at most SpoolBytes per request and SpoolBudget across all requests at
// once, and are imported once the token checks out; a request that never
// authenticates costs at most that much disk for as long as it lasts.
const (
	defaultSpoolBytes  = 64 << 20
	defaultSpoolBudget = 1 << 30
)

// errSpoolFull means the files sent before their credential are over the
// bound, for this request or for the server at this moment.
var errSpoolFull = errors.New("files before the credential exceed the spool")

// spoolBudget is the disk all requests' spools may use at once.
type spoolBudget struct {
	mu   sync.Mutex
	used int64
	max  int64
}

func (b *spoolBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		return false
	}
	b.used += n
	return true
}

func (b *spoolBudget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
}

// spool holds one request's files until its credential is checked.
type spool struct {
	dir    string
	max    int64
	budget *spoolBudget
	used   int64
	files  []spooled
}

type spooled struct {
	path string
	info pinning.FileInfo
	car  bool // a CAR, not a file
}

func (s *Server) newSpool() *spool {
	return &spool{dir: s.cfg.SpoolDir, max: s.cfg.SpoolBytes, budget: s.spoolBudget}
}

// add copies a part to a temporary file, failing once the bounds are
// reached (the bytes are taken from the budget as they arrive).
func (sp *spool) add(part *multipart.Part, info pinning.FileInfo, car bool) error {
	f, err := os.CreateTemp(sp.dir, "spool-*")
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	sp.files = append(sp.files, spooled{path: f.Name(), info: info, car: car})
	defer f.Close()
	buf := make([]byte, 32<<10)
	body := &partReader{r: part}
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if sp.used+int64(n) > sp.max || !sp.budget.take(int64(n)) {
				return fmt.Errorf("%w: send the credential in a header, or the token field before the files, to upload more than %d bytes", errSpoolFull, sp.max)
			}
			sp.used += int64(n)
			if _, err := f.Write(buf[:n]); err != nil {
				return fmt.Errorf("spool: %w", err)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return body.blame(rerr)
		}
	}
}

// replay imports the spooled files into u, in the order they came.
func (sp *spool) replay(ctx context.Context, u *pinning.Upload) error {
	for _, f := range sp.files {
		fh, err := os.Open(f.path)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if f.car {
			_, err = u.AddCAR(ctx, fh, -1)
		} else {
			_, err = u.AddFile(ctx, fh, f.info)
		}
		fh.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// remove deletes the spooled files and gives their bytes back.
func (sp *spool) remove() {
	for _, f := range sp.files {
		os.Remove(f.path)
	}
	sp.budget.give(sp.used)
	sp.files, sp.used = nil, 0
}
