package node

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	chunker "github.com/ipfs/boxo/chunker"
	"golang.org/x/sync/semaphore"
)

// The import buffer budget (Config.BufferBudget). Each import buffers up
// to maxWindow bytes of blocks so that hashing overlaps with writing; with
// nothing bounding their sum, 16, 64 and 128 concurrent 100 MiB uploads
// peaked at 603 MiB, 1.9 GiB and 2.4 GiB of RSS. Now every byte an import
// holds, from the chunk buffer it is about to read into until the batch
// holding the block is written, is counted against one node-wide budget,
// and an import that finds none left waits instead of allocating.
//
// An import holds a window of the budget: the first bytes it needs are
// its admission (minWindow, waited for in FIFO order, holding nothing, so
// admissions cannot deadlock), and it grows the window towards its fair
// share, min(maxWindow, budget / imports), only with bytes nobody is
// waiting for. When its window is full it hands its partial batch to its
// writer and waits for its own writer to free bytes, never for another
// import. A window shrinks back to the fair share as its writer frees
// bytes, and is returned whole at Commit or Abort. So a lone upload runs
// with the full 32 MiB it always had, and many share the budget.

const (
	// defaultBufferBudget keeps the import buffers of any number of
	// concurrent uploads within ~200 MiB.
	defaultBufferBudget = 192 << 20
	// minWindow is what an import needs to make progress: the chunk the
	// builder is turning into a leaf plus the next one it reads ahead
	// (2 x 1 MiB under ProfileV1), or one CAR block (under maxCARSection),
	// plus the small dag-pb nodes written between them.
	minWindow = 4 << 20
	// maxWindow is a lone import's window: a batch filling, batchQueue
	// waiting and one being written, as before the budget.
	maxWindow = batchBytes * (batchQueue + 2)
	// growStep is the granule a window grows by, so that growing is not a
	// semaphore operation per block.
	growStep = 1 << 20
)

// bufferBudget is the node-wide import buffer budget.
type bufferBudget struct {
	sem     *semaphore.Weighted
	total   int64
	active  atomic.Int64 // open import windows
	held    atomic.Int64 // bytes acquired by windows now
	peak    atomic.Int64 // the most held at once, for tests and benchmarks
	waiting atomic.Int64 // imports blocked in acquire
}

// acquire takes n bytes, waiting in FIFO order.
func (b *bufferBudget) acquire(ctx context.Context, n int64) error {
	b.waiting.Add(1)
	err := b.sem.Acquire(ctx, n)
	b.waiting.Add(-1)
	if err != nil {
		return err
	}
	b.took(n)
	return nil
}

// tryAcquire takes n bytes if they are free and nobody is waiting.
func (b *bufferBudget) tryAcquire(n int64) bool {
	if !b.sem.TryAcquire(n) {
		return false
	}
	b.took(n)
	return true
}

func (b *bufferBudget) took(n int64) {
	held := b.held.Add(n)
	for p := b.peak.Load(); held > p && !b.peak.CompareAndSwap(p, held); p = b.peak.Load() {
	}
}

func (b *bufferBudget) release(n int64) {
	b.held.Add(-n)
	b.sem.Release(n)
}

// newBufferBudget makes a budget of total bytes; 0 means the default,
// and less than minWindow means minWindow, without which no import could run.
func newBufferBudget(total int64) *bufferBudget {
	if total == 0 {
		total = defaultBufferBudget
	}
	total = max(total, minWindow)
	return &bufferBudget{sem: semaphore.NewWeighted(total), total: total}
}

// share is an import's fair share of the budget now.
func (b *bufferBudget) share() int64 {
	return max(minWindow, min(maxWindow, b.total/max(1, b.active.Load())))
}

// window is one import's part of the budget. The import's goroutine
// reserves and charges; its writer goroutine releases.
type window struct {
	b *bufferBudget

	mu       sync.Mutex
	size     int64         // acquired from the budget
	credit   int64         // reserved for chunks being read, not yet blocks
	inflight int64         // charged to blocks buffered, queued or being written
	freed    chan struct{} // signalled (never blocking) when the writer releases
}

func (b *bufferBudget) newWindow() *window {
	b.active.Add(1)
	return &window{b: b, freed: make(chan struct{}, 1)}
}

// reserveChunk makes room for a chunk of n bytes about to be read.
func (w *window) reserveChunk(ctx context.Context, n int64, handOver func(context.Context) error) error {
	return w.reserve(ctx, n, &w.credit, handOver)
}

// unreserve returns n bytes of a chunk reservation the read did not use.
func (w *window) unreserve(n int64) {
	w.mu.Lock()
	w.credit -= n
	w.mu.Unlock()
}

// charge accounts for a block of n bytes entering the import's buffer:
// out of the chunk it was read into when there is one, otherwise reserved.
func (w *window) charge(ctx context.Context, n int64, handOver func(context.Context) error) error {
	w.mu.Lock()
	fromCredit := min(w.credit, n)
	w.credit -= fromCredit
	w.inflight += fromCredit
	w.mu.Unlock()
	if rest := n - fromCredit; rest > 0 {
		return w.reserve(ctx, rest, &w.inflight, handOver)
	}
	return nil
}

// reserve adds n to *into (credit or inflight) once the window has room,
// growing it or waiting for the import's own writer as needed.
func (w *window) reserve(ctx context.Context, n int64, into *int64, handOver func(context.Context) error) error {
	for {
		w.mu.Lock()
		need := w.credit + w.inflight + n - w.size
		if need <= 0 {
			*into += n
			w.mu.Unlock()
			return nil
		}
		if w.size == 0 {
			// Admission: FIFO, holding nothing.
			w.mu.Unlock()
			grant := max(minWindow, roundUp(need, growStep))
			if err := w.b.acquire(ctx, grant); err != nil {
				return err
			}
			w.grow(grant)
			continue
		}
		if grant := min(roundUp(need, growStep), w.b.share()-w.size); grant >= need && w.b.tryAcquire(grant) {
			w.size += grant
			w.mu.Unlock()
			continue
		}
		pending := w.inflight > 0
		w.mu.Unlock()
		if !pending {
			// Nothing of ours to wait for: wait for the budget (not
			// reached while minWindow covers what an import holds).
			if err := w.b.acquire(ctx, need); err != nil {
				return err
			}
			w.grow(need)
			continue
		}
		if err := handOver(ctx); err != nil {
			return err
		}
		select {
		case <-w.freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (w *window) grow(n int64) {
	w.mu.Lock()
	w.size += n
	w.mu.Unlock()
}

// release is the writer's: n bytes of blocks are written (or dropped).
// The window shrinks back to the fair share if others have joined since
// it grew.
func (w *window) release(n int64) {
	w.mu.Lock()
	w.inflight -= n
	if keep := max(w.credit+w.inflight, w.b.share()); w.size > keep {
		w.b.release(w.size - keep)
		w.size = keep
	}
	w.mu.Unlock()
	select {
	case w.freed <- struct{}{}:
	default:
	}
}

// close returns the whole window; the import is over and its writer stopped.
func (w *window) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.size > 0 {
		w.b.release(w.size)
	}
	w.size, w.credit, w.inflight = 0, 0, 0
	w.b.active.Add(-1)
}

func roundUp(n, step int64) int64 { return (n + step - 1) / step * step }

// budgetSplitter is boxo's size splitter with each chunk reserved in the
// import's window before it is read, so that the chunk buffers themselves
// (not only the batches) are within the budget. The chunking is boxo's,
// so CIDs are unchanged.
type budgetSplitter struct {
	ctx   context.Context
	inner chunker.Splitter
	w     *batchWriter
	size  int64
}

// NextBytes reserves a chunk, reads it, and gives back what it did not fill.
func (s *budgetSplitter) NextBytes() ([]byte, error) {
	if err := s.w.win.reserveChunk(s.ctx, s.size, s.w.handOver); err != nil {
		return nil, err
	}
	b, err := s.inner.NextBytes()
	s.w.win.unreserve(s.size - int64(len(b)))
	return b, err
}

// Reader returns the reader being split.
func (s *budgetSplitter) Reader() io.Reader { return s.inner.Reader() }
