package token

import (
	"fmt"
	"testing"
)

func TestDetailDropsTheSentinelsTextFromTheFront(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: expiresIn must be positive", ErrBadRequest), "expiresIn must be positive"},
		{fmt.Errorf("upload jwt key usk_x: %w", ErrRevoked), "upload jwt key usk_x: credential revoked"},
		{ErrExpired, "credential expired"},
	}
	for _, c := range cases {
		if got := Detail(c.err); got != c.want {
			t.Errorf("Detail(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
