package pinning

import (
	"errors"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Sentinel errors of the domain. Credential-policy errors are token's
// (token.ErrExpired, token.ErrSizeExceeded, …) and content errors the
// node's (node.ErrInvalidCAR, node.ErrBadPath); those pass through
// wrapped. Where the domain and a lower package name the same concept, the
// sentinel is shared, not duplicated.
var (
	// ErrInvalid means invalid input: a field out of range, a bad value.
	// It is token's ErrBadRequest, so a bad scope or expiresIn (found by
	// token) and a bad name (found here) are one concept.
	ErrInvalid = token.ErrBadRequest
	// ErrInvalidCID means a CID that does not parse.
	ErrInvalidCID = errors.New("invalid cid")
	// ErrInvalidContent means upload content that is not what it claims:
	// malformed JSON or base64 content, a malformed or truncated body.
	ErrInvalidContent = errors.New("invalid content")
	// ErrNotFound means no such record in the caller's account; it is the
	// store's.
	ErrNotFound = store.ErrNotFound
	// ErrConflict means the write conflicts with an existing record (an
	// account name taken); it is the store's.
	ErrConflict = store.ErrConflict
	// ErrQuota means the account's quota (stored bytes, pins, queued
	// requests, fetch bytes) would be exceeded.
	ErrQuota = errors.New("quota exceeded")
	// ErrNoIssuer means the operator asked to issue a credential for an
	// account that has no active API key able to issue it.
	ErrNoIssuer = errors.New("no issuing key")
	// ErrUnavailable means the operation needs a part this process runs
	// without (access JWTs without a signer, fetching without a network).
	ErrUnavailable = errors.New("unavailable")
	// ErrNotReady means a part the service needs is not working (see
	// Service.Ready); the text names which.
	ErrNotReady = errors.New("not ready")
	// ErrInsufficientStorage means the disk is too full to take more: free
	// space under the configured floor (Config.MinFreeBytes). A write that
	// fails for lack of space (ENOSPC, EDQUOT) is the same condition and
	// is mapped with it.
	ErrInsufficientStorage = errors.New("insufficient storage")
)

func errIsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
