package pinning

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ninja-ipfs/ninja/store"
)

// readiness remembers the last readiness answer, so that a change is
// logged once instead of on every probe.
type readiness struct {
	mu       sync.Mutex
	notReady string // "" while ready

	belowFloor atomic.Bool // free space under Config.MinFreeBytes at the last check
}

// Ready reports whether the service can take writes now: the database is
// open and its file is still the one on disk, the block store is writable,
// the node is started, and the pin-by-CID worker runs. Otherwise the error
// wraps ErrNotReady and says which parts are not ready, in words fit for a
// public endpoint (the full causes are logged, once per change).
func (s *Service) Ready() error {
	var parts, causes []string
	add := func(part string, err error) {
		parts = append(parts, part)
		causes = append(causes, fmt.Sprintf("%s (%v)", part, err))
	}
	if err := s.store.Check(); err != nil {
		add("database: "+firstClause(strings.TrimPrefix(err.Error(), store.ErrUnhealthy.Error()+": ")), err)
	}
	if err := s.node.Check(); err != nil {
		add("node: "+firstClause(err.Error()), err)
	}
	switch {
	case s.fetch == nil:
		add("pin worker: not running (this process has no network)", fmt.Errorf("fetching disabled"))
	case !s.fetch.alive():
		add("pin worker: stopped", fmt.Errorf("fetcher closed"))
	}
	s.ready.mu.Lock()
	defer s.ready.mu.Unlock()
	now := strings.Join(parts, "; ")
	if now != s.ready.notReady {
		if now == "" {
			s.log.Info("ready again")
		} else {
			s.log.Warn("not ready", "parts", strings.Join(causes, "; "))
		}
		s.ready.notReady = now
	}
	if now != "" {
		return fmt.Errorf("%w: %s", ErrNotReady, now)
	}
	return nil
}

// firstClause is an error's text up to its first ": ": what failed,
// without the paths and system details that follow.
func firstClause(msg string) string {
	if i := strings.Index(msg, ": "); i >= 0 {
		return msg[:i]
	}
	return msg
}

// checkWritable refuses a new upload or pin request the server could not
// keep: the database file deleted or replaced under the running server
// (the write would be acknowledged, then vanish on restart), or free space
// under the floor. Nothing is reserved or written before it passes.
func (s *Service) checkWritable() error {
	if err := s.store.Check(); err != nil {
		return fmt.Errorf("%w: database: %s; nothing was stored", ErrNotReady, firstClause(strings.TrimPrefix(err.Error(), store.ErrUnhealthy.Error()+": ")))
	}
	return s.checkFreeSpace()
}

// checkFreeSpace refuses new writes while the block store's disk has less
// free space than the floor, before anything is reserved or written: a
// refused upload consumes no token use and leaves no block.
func (s *Service) checkFreeSpace() error {
	if s.minFree <= 0 {
		return nil
	}
	free, err := s.node.FreeBytes()
	if err != nil {
		// Not knowing is no reason to refuse: the write itself will say
		// (ENOSPC) if the disk is really full.
		s.log.Warn("free space unknown", "err", err)
		return nil
	}
	below := free < s.minFree
	if s.ready.belowFloor.Swap(below) != below {
		if below {
			s.log.Warn("free space under the floor: refusing uploads and pin requests", "free", free, "floor", s.minFree)
		} else {
			s.log.Info("free space above the floor again", "free", free, "floor", s.minFree)
		}
	}
	if below {
		return fmt.Errorf("%w: the server's disk has %s free, under its floor of %s (--min-free-space); nothing was stored",
			ErrInsufficientStorage, humanBytes(free), humanBytes(s.minFree))
	}
	return nil
}

// humanBytes writes n in binary units, as --min-free-space takes them.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
