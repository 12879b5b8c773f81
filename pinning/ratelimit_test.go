package pinning

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestALimiterStaysWithinItsKeyBound(t *testing.T) {
	l := newLimiter("uploads", Rate{PerSecond: 1, Burst: 1}, 1000)
	now := time.Now()
	for i := range 250_000 {
		l.allow(fmt.Sprint("10.0.", i/256, ".", i%256), now)
		if len(l.buckets) > 1000 {
			t.Fatalf("%d buckets after %d keys, bound 1000", len(l.buckets), i+1)
		}
	}
}

func TestALimiterRefusesPastItsBurstAndRefills(t *testing.T) {
	l := newLimiter("uploads", Rate{PerSecond: 2, Burst: 3}, 0)
	now := time.Now()
	for i := range 3 {
		if err := l.allow("k", now); err != nil {
			t.Fatalf("request %d within the burst: %v", i, err)
		}
	}
	err := l.allow("k", now)
	var rl *RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) || rl.RetryAfter < time.Second {
		t.Fatalf("past the burst: %v", err)
	}
	if err := l.allow("k", now.Add(600*time.Millisecond)); err != nil {
		t.Fatalf("after a refill: %v", err)
	}
	if err := newLimiter("off", Rate{}, 0).allow("k", now); err != nil {
		t.Fatalf("a zero rate limits nothing: %v", err)
	}
}
