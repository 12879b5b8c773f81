package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// HTTP-level conditions, the server's own.
var (
	errNoRoute          = errors.New("no such endpoint")
	errMethodNotAllowed = errors.New("method not allowed")
)

// apiError is what a client is told about an error.
type apiError struct {
	Status  int
	Reason  string
	Details string
}

// errorTable maps every sentinel a handler may see to its status and
// reason. Order matters: the first that matches wins, so token.ErrMissing
// comes before the token.ErrUnknown it wraps. fallback is the details
// text when the error carries none of its own.
var errorTable = []struct {
	err      error
	status   int
	reason   string
	fallback string
}{
	{token.ErrMissing, http.StatusUnauthorized, "UNAUTHORIZED", "missing credential"},
	{token.ErrMalformed, http.StatusUnauthorized, "UNAUTHORIZED", "malformed credential"},
	{token.ErrUnknown, http.StatusUnauthorized, "UNAUTHORIZED", "unknown credential"},
	{token.ErrExpired, http.StatusUnauthorized, "TOKEN_EXPIRED", "the credential expired"},
	{token.ErrRevoked, http.StatusUnauthorized, "TOKEN_REVOKED", "the credential was revoked"},
	{token.ErrForbidden, http.StatusForbidden, "FORBIDDEN", "the credential may not do this"},
	{token.ErrExhausted, http.StatusForbidden, "TOKEN_EXHAUSTED", "the credential has no uses left"},
	{token.ErrIPNotAllowed, http.StatusForbidden, "IP_NOT_ALLOWED", "this client address may not use the credential"},
	{token.ErrOriginNotAllowed, http.StatusForbidden, "ORIGIN_NOT_ALLOWED", "this origin may not use the credential"},
	{token.ErrReplayed, http.StatusConflict, "TOKEN_REPLAYED", "the single-use credential was used before"},
	{token.ErrSizeExceeded, http.StatusRequestEntityTooLarge, "SIZE_EXCEEDED", "the upload is over its size limit"},
	{errSpoolFull, http.StatusRequestEntityTooLarge, "SIZE_EXCEEDED", "too many bytes before the credential"},
	{token.ErrMimeNotAllowed, http.StatusUnsupportedMediaType, "MIME_NOT_ALLOWED", "this file type is not allowed"},
	{token.ErrParamMismatch, http.StatusUnprocessableEntity, "PARAM_MISMATCH", "a parameter differs from what the credential binds"},
	{errBodyTooSlow, http.StatusRequestTimeout, "REQUEST_TIMEOUT", "the request body arrived too slowly"},
	{errChecksumMismatch, 460, "CHECKSUM_MISMATCH", "the chunk does not match its Upload-Checksum"}, // tus checksum extension's status
	{errTusVersion, http.StatusPreconditionFailed, "UNSUPPORTED_VERSION", "this server speaks tus 1.0.0"},
	{errOffsetMismatch, http.StatusConflict, "OFFSET_MISMATCH", "Upload-Offset is not the upload's offset"},
	{errUploadLocked, http.StatusLocked, "LOCKED", "another request is writing this upload"},
	{pinning.ErrInvalidCID, http.StatusBadRequest, "INVALID_CID", "invalid CID"},
	{pinning.ErrInvalidContent, http.StatusBadRequest, "INVALID_CONTENT", "invalid content"},
	{node.ErrInvalidCAR, http.StatusBadRequest, "INVALID_CONTENT", "invalid CAR"},
	{node.ErrBadPath, http.StatusBadRequest, "BAD_REQUEST", "invalid file path"},
	{node.ErrBadDAG, http.StatusBadRequest, "INVALID_CONTENT", "a block of the DAG does not decode"},
	{node.ErrBadOrigin, http.StatusBadRequest, "BAD_REQUEST", "an origin is not a dialable multiaddr"},
	{node.ErrAddrNotAllowed, http.StatusBadRequest, "BAD_REQUEST", "the address is not a public one"},
	{node.ErrLimit, http.StatusBadRequest, "BAD_REQUEST", "the request goes past one of the server's limits"},
	{node.ErrBadName, http.StatusBadRequest, "BAD_REQUEST", "not an IPNS name"},
	{node.ErrBadRecord, http.StatusBadRequest, "INVALID_RECORD", "the IPNS record is malformed or not signed by its name's key"},
	{node.ErrRecordExpired, http.StatusBadRequest, "RECORD_EXPIRED", "the IPNS record has expired"},
	{pinning.ErrInvalid, http.StatusBadRequest, "BAD_REQUEST", "invalid request"},
	{store.ErrInvalid, http.StatusBadRequest, "BAD_REQUEST", "invalid request"},
	{pinning.ErrNotFound, http.StatusNotFound, "NOT_FOUND", "the requested object was not found"},
	{errNoRoute, http.StatusNotFound, "NOT_FOUND", "no such endpoint"},
	{errMethodNotAllowed, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method not allowed"},
	{pinning.ErrQuota, http.StatusConflict, "INSUFFICIENT_FUNDS", "the account's quota is used up"},
	{pinning.ErrNoIssuer, http.StatusConflict, "NO_ISSUER", "no key can issue this credential"},
	{pinning.ErrConflict, http.StatusConflict, "CONFLICT", "the request conflicts with an existing record"},
	{pinning.ErrUnavailable, http.StatusServiceUnavailable, "UNAVAILABLE", "this server does not offer that"},
	{store.ErrCorrupt, http.StatusInternalServerError, "DATABASE_CORRUPT", "the database is damaged"},
	{pinning.ErrNotReady, http.StatusServiceUnavailable, "NOT_READY", "the server is not ready"},
	// A full disk is the client's to know (retry later, elsewhere), not an
	// internal error: the floor (--min-free-space) and a write that failed
	// for lack of space or quota, wherever it failed, are one answer.
	{pinning.ErrInsufficientStorage, http.StatusInsufficientStorage, "INSUFFICIENT_STORAGE", "the server's disk is full"},
	{syscall.ENOSPC, http.StatusInsufficientStorage, "INSUFFICIENT_STORAGE", "the server's disk is full; nothing was stored, retry later"},
	{syscall.EDQUOT, http.StatusInsufficientStorage, "INSUFFICIENT_STORAGE", "the server's disk quota is used up; nothing was stored, retry later"},
	{pinning.ErrRateLimited, http.StatusTooManyRequests, "RATE_LIMITED", "too many requests"},
	// --ack-replicas: the pin is recorded, the Cluster has not confirmed
	// enough copies in time (the details say how many and that
	// replication goes on).
	{pinning.ErrReplicationTimeout, http.StatusGatewayTimeout, "REPLICATION_TIMEOUT", "the Cluster did not confirm enough copies in time; the pin is recorded and replication continues"},
	{context.Canceled, http.StatusServiceUnavailable, "CANCELED", "the request was canceled"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "CANCELED", "the request took too long"},
}

// toAPIError maps every error a handler returns to the status, reason and
// details a client gets. It is the only place that does so. The details
// are the text of the error that wraps the sentinel, without the
// sentinel's own words and without the wrap prefixes added on the way up
// ("import file: …"), which are for the log, not the client.
func toAPIError(err error) apiError {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apiError{http.StatusRequestEntityTooLarge, "SIZE_EXCEEDED", fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)}
	}
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			d := details(err, e.err)
			if d == "" {
				d = e.fallback
			}
			return apiError{e.status, e.reason, d}
		}
	}
	return apiError{http.StatusInternalServerError, "INTERNAL_ERROR", "internal server error"}
}

// details finds, in err's tree, the error that wraps sentinel directly and
// returns its text after the sentinel's ("size exceeded: the file is larger
// than …" gives "the file is larger than …"). Errors meant for a client are
// written sentinel first, fmt.Errorf("%w: what happened", ErrX); text put
// before a sentinel ("import file: %w") is context for the log, so "" is
// returned for it and for a bare sentinel, and the reason's own words apply.
func details(err, sentinel error) string {
	var found error
	var walk func(e error) bool
	walk = func(e error) bool {
		var kids []error
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			kids = u.Unwrap()
		case interface{ Unwrap() error }:
			if k := u.Unwrap(); k != nil {
				kids = []error{k}
			}
		}
		for _, k := range kids {
			if k == sentinel {
				found = e
				return true
			}
			if walk(k) {
				return true
			}
		}
		return false
	}
	if err == sentinel || !walk(err) {
		return ""
	}
	rest, _ := strings.CutPrefix(found.Error(), sentinel.Error()+": ")
	if rest == found.Error() {
		return ""
	}
	return rest
}

// writeError sends err in the Pinning Service API error shape, logging
// server faults (with their full text) at error and refusals at debug.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toAPIError(err)
	state(r).reason = e.Reason
	if s.obs != nil {
		s.obs.Refusal(e.Reason)
	}
	switch {
	case e.Status >= 500 && !isCanceled(err) && !isRefusal(err):
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	default:
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "reason", e.Reason, "err", err)
	}
	if errors.Is(err, errBodyTooSlow) {
		w.Header().Set("Connection", "close") // the rest of its body is not worth waiting for
	}
	var rl *pinning.RateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
	}
	writeJSON(w, e.Status, api.ErrorBody{Error: api.ErrorDetail{Reason: e.Reason, Details: e.Details}})
}

// isRefusal reports a 5xx that is a decision, not a fault: not ready, or
// under the free-space floor. The domain logs those once per change, so a
// probe every few seconds does not flood the log at error.
func isRefusal(err error) bool {
	return errors.Is(err, pinning.ErrNotReady) || errors.Is(err, pinning.ErrInsufficientStorage) || errors.Is(err, pinning.ErrReplicationTimeout)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An encoding error here is a client gone mid-response; nothing to do.
	_ = json.NewEncoder(w).Encode(v)
}
