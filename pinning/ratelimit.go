package pinning

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ErrRateLimited means a credential or a client address is making requests
// faster than its rate limit; the error is a *RateLimitError saying when to
// retry.
var ErrRateLimited = errors.New("rate limited")

// RateLimitError is a request refused by a rate limit.
type RateLimitError struct {
	What       string        // "uploads per credential", …
	RetryAfter time.Duration // when one more request will be allowed
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s: too many %s; retry in %s", ErrRateLimited, e.What, e.RetryAfter.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// Rate is a token bucket: PerSecond requests on average, Burst at once. The
// zero Rate means no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// RateLimits are the limits the service applies. Their defaults (see
// DefaultRateLimits) are far above what an app does in normal use; they
// stop floods, not traffic.
type RateLimits struct {
	// UploadsPerCredential and UploadsPerAddress bound uploads begun by one
	// credential and from one client address.
	UploadsPerCredential, UploadsPerAddress Rate
	// MintsPerKey bounds the upload tokens and access JWTs one API key (or
	// access JWT) issues.
	MintsPerKey Rate
	// AuthFailuresPerAddress bounds failed authentications from one client
	// address; past it, that address is refused before any lookup.
	AuthFailuresPerAddress Rate
	// MaxKeys bounds the buckets kept per limit (memory); 0 means 100,000.
	MaxKeys int
}

// DefaultRateLimits are the limits `ninja serve` applies unless told
// otherwise.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		UploadsPerCredential:   Rate{PerSecond: 100, Burst: 500},
		UploadsPerAddress:      Rate{PerSecond: 100, Burst: 500},
		MintsPerKey:            Rate{PerSecond: 50, Burst: 500},
		AuthFailuresPerAddress: Rate{PerSecond: 5, Burst: 50},
	}
}

// limiter is a set of token buckets, one per key, bounded in memory: idle
// buckets (full again) are dropped by a sweep, and past max keys the
// oldest half of the map is forgotten (a forgotten key starts full).
type limiter struct {
	what string
	rate Rate
	max  int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

func newLimiter(what string, r Rate, maxKeys int) *limiter {
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	return &limiter{what: what, rate: r, max: maxKeys, buckets: make(map[string]*rate.Limiter)}
}

func (l *limiter) enabled() bool { return l != nil && l.rate.PerSecond > 0 }

func (l *limiter) bucket(key string, now time.Time) *rate.Limiter {
	b := l.buckets[key]
	if b == nil {
		l.sweep(now)
		b = rate.NewLimiter(rate.Limit(l.rate.PerSecond), max(l.rate.Burst, 1))
		l.buckets[key] = b
	}
	return b
}

// sweep drops buckets that are full again (nothing to remember) once a
// minute, and half the map when it is over its bound. l.mu must be held.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute && len(l.buckets) < l.max {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < l.max/2 {
			break
		}
		delete(l.buckets, k)
	}
}

// allow takes one request from key's bucket, or refuses with a
// RateLimitError.
func (l *limiter) allow(key string, now time.Time) error {
	if !l.enabled() || key == "" {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	if b.AllowN(now, 1) {
		return nil
	}
	return l.refusal(b, now)
}

// check refuses when key's bucket is empty, without taking from it.
func (l *limiter) check(key string, now time.Time) error {
	if !l.enabled() || key == "" {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok || b.TokensAt(now) >= 1 {
		return nil
	}
	return l.refusal(b, now)
}

// take takes one request from key's bucket, going below empty if need be
// (failures are counted even when already refused).
func (l *limiter) take(key string, now time.Time) {
	if !l.enabled() || key == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bucket(key, now).AllowN(now, 1)
}

func (l *limiter) refusal(b *rate.Limiter, now time.Time) error {
	missing := 1 - b.TokensAt(now)
	wait := time.Duration(math.Ceil(missing/l.rate.PerSecond*1000)) * time.Millisecond
	return &RateLimitError{What: l.what, RetryAfter: max(wait, time.Second)}
}

// limits are the service's limiters.
type limits struct {
	uploadsByCredential, uploadsByAddress, mintsByKey, authFailures *limiter
}

func newLimits(r RateLimits) limits {
	return limits{
		uploadsByCredential: newLimiter("uploads by this credential", r.UploadsPerCredential, r.MaxKeys),
		uploadsByAddress:    newLimiter("uploads from this address", r.UploadsPerAddress, r.MaxKeys),
		mintsByKey:          newLimiter("credentials issued by this key", r.MintsPerKey, r.MaxKeys),
		authFailures:        newLimiter("failed authentications from this address", r.AuthFailuresPerAddress, r.MaxKeys),
	}
}
