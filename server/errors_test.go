package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"testing"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/token"
)

func TestEverySentinelMapsToItsStatusAndReason(t *testing.T) {
	tests := []struct {
		err    error
		status int
		reason string
	}{
		{token.ErrMissing, 401, "UNAUTHORIZED"},
		{token.ErrMalformed, 401, "UNAUTHORIZED"},
		{token.ErrUnknown, 401, "UNAUTHORIZED"},
		{token.ErrExpired, 401, "TOKEN_EXPIRED"},
		{token.ErrRevoked, 401, "TOKEN_REVOKED"},
		{token.ErrForbidden, 403, "FORBIDDEN"},
		{token.ErrExhausted, 403, "TOKEN_EXHAUSTED"},
		{token.ErrIPNotAllowed, 403, "IP_NOT_ALLOWED"},
		{token.ErrOriginNotAllowed, 403, "ORIGIN_NOT_ALLOWED"},
		{token.ErrReplayed, 409, "TOKEN_REPLAYED"},
		{token.ErrSizeExceeded, 413, "SIZE_EXCEEDED"},
		{token.ErrMimeNotAllowed, 415, "MIME_NOT_ALLOWED"},
		{token.ErrParamMismatch, 422, "PARAM_MISMATCH"},
		{token.ErrBadRequest, 400, "BAD_REQUEST"},
		{pinning.ErrInvalid, 400, "BAD_REQUEST"},
		{pinning.ErrInvalidCID, 400, "INVALID_CID"},
		{pinning.ErrInvalidContent, 400, "INVALID_CONTENT"},
		{node.ErrInvalidCAR, 400, "INVALID_CONTENT"},
		{pinning.ErrNotFound, 404, "NOT_FOUND"},
		{pinning.ErrQuota, 409, "INSUFFICIENT_FUNDS"},
		{pinning.ErrConflict, 409, "CONFLICT"},
		{pinning.ErrUnavailable, 503, "UNAVAILABLE"},
		{context.Canceled, 503, "CANCELED"},
		{&http.MaxBytesError{Limit: 10}, 413, "SIZE_EXCEEDED"},
		{pinning.ErrNotReady, 503, "NOT_READY"},
		{pinning.ErrInsufficientStorage, 507, "INSUFFICIENT_STORAGE"},
		{syscall.ENOSPC, 507, "INSUFFICIENT_STORAGE"},
		{syscall.EDQUOT, 507, "INSUFFICIENT_STORAGE"},
		{&os.PathError{Op: "write", Path: "/var/lib/ninja/blocks/x", Err: syscall.ENOSPC}, 507, "INSUFFICIENT_STORAGE"},
		{errors.New("disk on fire"), 500, "INTERNAL_ERROR"},
	}
	for _, tt := range tests {
		wrapped := fmt.Errorf("some layer: %w", tt.err)
		if got := toAPIError(wrapped); got.Status != tt.status || got.Reason != tt.reason {
			t.Errorf("toAPIError(%v) = %d %s, want %d %s", tt.err, got.Status, got.Reason, tt.status, tt.reason)
		}
	}
}

func TestDetailsAreTheClientsTextWithoutInternalPrefixes(t *testing.T) {
	size := fmt.Errorf("%w: the file is larger than the credential's limit of 1048576 bytes", token.ErrSizeExceeded)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"wrap prefixes added on the way up are dropped", fmt.Errorf("import file: %w", fmt.Errorf("commit: %w", size)),
			"the file is larger than the credential's limit of 1048576 bytes"},
		{"text before a sentinel is the log's, not the client's", fmt.Errorf("outer: %w", fmt.Errorf("open pins bucket: %w", pinning.ErrNotFound)),
			"the requested object was not found"},
		{"a bare sentinel gets the reason's own words", fmt.Errorf("layer: %w", token.ErrExpired), "the credential expired"},
		{"an internal error says nothing of its cause", errors.New("open /var/lib/ninja/ninja.db: permission denied"), "internal server error"},
		{"a full disk says so, without the path of the write that failed", fmt.Errorf("commit import: %w", fmt.Errorf("write blocks: %w",
			&os.PathError{Op: "write", Path: "/var/lib/ninja/blocks/CIQ/x.data", Err: syscall.ENOSPC})),
			"the server's disk is full; nothing was stored, retry later"},
		{"an exhausted quota says so", &os.PathError{Op: "write", Path: "/x", Err: syscall.EDQUOT},
			"the server's disk quota is used up; nothing was stored, retry later"},
		{"the node's CAR error keeps its detail", fmt.Errorf("import car: %w", fmt.Errorf("%w: %w", node.ErrInvalidCAR, errors.New("unexpected EOF"))),
			"unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := toAPIError(tt.err).Details; got != tt.want {
				t.Errorf("details = %q, want %q", got, tt.want)
			}
		})
	}
}
