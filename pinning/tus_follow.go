package pinning

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/ninja-ipfs/ninja/store"
)

// Following: a resumable upload's file is imported while it is written,
// not after its last byte. Measured on the 2 GiB benchmark (bench/
// tus_test.go), importing the assembled file after the final PATCH took
// the receive time plus the import time, 0.63x a multipart upload's
// throughput at the same CPU per GiB; a follower overlaps the two.
//
// A follower is the upload's Upload (the same one FinishResumable
// finishes) whose AddFile reads the file through a reader that waits for
// more bytes: it reads only what a write has published (a chunk with a
// checksum is published once verified, so nothing it imports is ever
// truncated away), and gives up after followIdle without new bytes (the
// client went away; the next write or the finish starts over from the
// file). It lives in memory only: after a restart, the first write or the
// finish starts one on the bytes on disk.

// followIdle is how long a follower waits for bytes before it gives up
// and releases its import.
const followIdle = 30 * time.Second

// maxFollowers bounds the followers at once. Each holds an import window
// of the node's buffer budget (at least 4 MiB of its 192) for as long as
// its upload trickles in, so without a bound a few dozen slow uploads
// would keep every other upload waiting for buffer space. Past it an
// upload is imported after its last byte, as it would be without
// following.
const maxFollowers = 16

var (
	errFollowIdle = errors.New("no bytes arrived for the follower")
	errFollowers  = errors.New("too many uploads followed at once")
)

type follower struct {
	id     string
	u      *Upload
	length int64
	cancel context.CancelFunc

	mu       sync.Mutex
	readable int64         // bytes the import may read
	more     chan struct{} // closed (and replaced) when readable grows
	stopped  bool

	done chan struct{} // closed when AddFile returned
	err  error         // AddFile's
}

// follow returns the upload's follower, starting one on the bytes on disk
// (readable) if none runs: within maxFollowers, unless final (the import
// of a complete upload, which must run as any upload's does). A follower
// that failed is replaced. The caller holds the upload's lock.
func (s *Service) follow(p Principal, rec store.TusUpload, readable int64, final bool) (*follower, error) {
	r := s.tus
	r.mu.Lock()
	fl := r.followers[rec.ID]
	r.mu.Unlock()
	if fl != nil {
		select {
		case <-fl.done:
			if fl.err == nil {
				return fl, nil
			}
			s.unfollow(rec.ID) // failed: start over
		default:
			return fl, nil
		}
	}
	r.mu.Lock()
	n := len(r.followers)
	r.mu.Unlock()
	if n >= maxFollowers && !final {
		return nil, errFollowers
	}
	f, err := os.OpenFile(s.tus.path(rec.ID), os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open upload %s: %w", rec.ID, err)
	}
	u, err := s.beginUpload(p, rec.CIDVersion, &rec)
	if err != nil {
		f.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.bg)
	fl = &follower{id: rec.ID, u: u, length: rec.Length, cancel: cancel, readable: readable,
		more: make(chan struct{}), done: make(chan struct{})}
	r.mu.Lock()
	r.followers[rec.ID] = fl
	r.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer f.Close()
		rd := &followReader{fl: fl, f: f, ctx: ctx}
		if rec.CAR {
			_, fl.err = u.AddCAR(ctx, rd, rec.Length)
		} else {
			_, fl.err = u.AddFile(ctx, rd, FileInfo{Name: rec.Name, DeclaredType: rec.Type})
		}
		if fl.err != nil {
			u.Abort()
		}
		close(fl.done)
	}()
	return fl, nil
}

// publish lets the follower read the first n bytes.
func (fl *follower) publish(n int64) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if n > fl.readable {
		fl.readable = n
		close(fl.more)
		fl.more = make(chan struct{})
	}
}

// unfollow stops and forgets an upload's follower, aborting its import.
func (s *Service) unfollow(id string) {
	r := s.tus
	r.mu.Lock()
	fl := r.followers[id]
	delete(r.followers, id)
	r.mu.Unlock()
	if fl == nil {
		return
	}
	fl.cancel()
	<-fl.done
	fl.u.Abort()
}

// followed returns the follower of id, if one runs.
func (s *Service) followed(id string) *follower {
	s.tus.mu.Lock()
	defer s.tus.mu.Unlock()
	return s.tus.followers[id]
}

// followReader reads a file as its follower publishes it, ending at the
// upload's length.
type followReader struct {
	fl  *follower
	f   *os.File
	ctx context.Context
	pos int64
}

func (r *followReader) Read(p []byte) (int, error) {
	fl := r.fl
	for {
		fl.mu.Lock()
		readable, more := fl.readable, fl.more
		fl.mu.Unlock()
		if r.pos >= fl.length {
			return 0, io.EOF
		}
		if r.pos < readable {
			n, err := r.f.ReadAt(p[:min(int64(len(p)), readable-r.pos)], r.pos)
			r.pos += int64(n)
			if errors.Is(err, io.EOF) && n > 0 {
				err = nil
			}
			return n, err
		}
		idle := time.NewTimer(followIdle)
		select {
		case <-more:
			idle.Stop()
		case <-r.ctx.Done():
			idle.Stop()
			return 0, r.ctx.Err()
		case <-idle.C:
			return 0, errFollowIdle
		}
	}
}

// publishingWriter publishes what it wrote to the follower (if any) as it
// goes.
type publishingWriter struct {
	f   *os.File
	fl  *follower
	off int64 // the file offset after what was written
}

func (w *publishingWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.fl != nil {
		w.fl.publish(w.off)
	}
	return n, err
}
