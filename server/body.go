package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// errBodyTooSlow means a client sent its body too slowly: nothing for
// BodyIdleTimeout, or less than BodyMinRate on average over a window.
var errBodyTooSlow = errors.New("request body too slow")

// Body pacing defaults: lenient enough for a phone on a bad network, strict
// enough that a client trickling bytes cannot hold a connection (and an
// upload slot) forever.
const (
	defaultBodyIdleTimeout = time.Minute
	defaultBodyMinRate     = 1 << 10 // bytes per second, averaged over bodyRateWindow
	defaultBodyRateWindow  = time.Minute
)

// pacedBody enforces the body read deadline: before each read the
// connection's read deadline moves to now + idle, and every window the
// bytes read must average at least minRate per second.
type pacedBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	idle    time.Duration
	minRate int64
	window  time.Duration

	start time.Time // of the current window; zero before the first read
	n     int64     // bytes read in it
}

func (s *Server) paceBody(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || (s.cfg.BodyIdleTimeout < 0 && s.cfg.BodyMinRate < 0) {
		return
	}
	r.Body = &pacedBody{ReadCloser: r.Body, rc: http.NewResponseController(w),
		idle: max(s.cfg.BodyIdleTimeout, 0), minRate: max(s.cfg.BodyMinRate, 0), window: s.cfg.BodyRateWindow}
}

func (b *pacedBody) Read(p []byte) (int, error) {
	now := time.Now()
	if b.start.IsZero() {
		b.start = now
	}
	if b.idle > 0 {
		// Unsupported writers (tests' recorders) simply keep no deadline.
		_ = b.rc.SetReadDeadline(now.Add(b.idle))
	}
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, b.cut(fmt.Errorf("%w: nothing arrived for %v", errBodyTooSlow, b.idle))
	}
	if b.minRate > 0 {
		if elapsed := time.Since(b.start); elapsed >= b.window {
			if rate := float64(b.n) / elapsed.Seconds(); rate < float64(b.minRate) {
				return n, b.cut(fmt.Errorf("%w: %.0f bytes/s over the last %v, the minimum is %d", errBodyTooSlow, rate, b.window, b.minRate))
			}
			b.start, b.n = time.Now(), 0
		}
	}
	return n, err
}

// cut ends the body for good: every later read (net/http's own drain of
// an unread body included) fails at once instead of waiting on the slow
// client; writeError then closes the connection.
func (b *pacedBody) cut(err error) error {
	_ = b.rc.SetReadDeadline(time.Now())
	return err
}

// fairSlots bounds work done at once (the in-memory JSON uploads), overall
// and per account, so one account's slow requests cannot take every slot.
type fairSlots struct {
	global     chan struct{}
	perAccount int

	mu       sync.Mutex
	accounts map[string]chan struct{}
}

func newFairSlots(global, perAccount int) *fairSlots {
	return &fairSlots{global: make(chan struct{}, global), perAccount: perAccount, accounts: map[string]chan struct{}{}}
}

// acquire takes the account's slot, then a global one; release gives both
// back. Both wait for ctx.
func (f *fairSlots) acquire(ctx context.Context, account string) (release func(), err error) {
	f.mu.Lock()
	acct := f.accounts[account]
	if acct == nil {
		acct = make(chan struct{}, f.perAccount)
		f.accounts[account] = acct
	}
	f.mu.Unlock()
	select {
	case acct <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case f.global <- struct{}{}:
	case <-ctx.Done():
		<-acct
		return nil, ctx.Err()
	}
	return func() { <-f.global; <-acct }, nil
}
