package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Error is an API error: an HTTP status, a machine-readable reason and a
// human-readable details string. Its cause is logged, never sent.
type Error struct {
	Status  int
	Reason  string
	Details string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Reason, e.Details, e.Cause)
	}
	return e.Reason + ": " + e.Details
}

func (e *Error) Unwrap() error { return e.Cause }

func apiErr(status int, reason, format string, args ...any) *Error {
	return &Error{Status: status, Reason: reason, Details: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *Error {
	return apiErr(http.StatusBadRequest, "BAD_REQUEST", format, args...)
}

// errSizeExceeded marks a body cut off at the configured upload limit.
var errSizeExceeded = errors.New("upload exceeds the size limit")

// toAPIError maps every error the handlers see to the one status and reason
// a client gets. This is the only place that does so.
func toAPIError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, errSizeExceeded), errors.As(err, &mbe), errors.Is(err, token.ErrSizeExceeded),
		errors.Is(err, store.ErrLimit):
		return &Error{Status: http.StatusRequestEntityTooLarge, Reason: "SIZE_EXCEEDED", Details: detail(err), Cause: err}
	case errors.Is(err, node.ErrInvalidCAR):
		return &Error{Status: http.StatusBadRequest, Reason: "INVALID_CONTENT", Details: detail(err), Cause: err}
	case errors.Is(err, node.ErrBadPath):
		return &Error{Status: http.StatusBadRequest, Reason: "BAD_REQUEST", Details: detail(err), Cause: err}
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Reason: "NOT_FOUND", Details: "the requested object was not found", Cause: err}
	case errors.Is(err, store.ErrConflict):
		return &Error{Status: http.StatusConflict, Reason: "CONFLICT", Details: detail(err), Cause: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Reason: "CANCELED", Details: "the request was canceled", Cause: err}
	}
	if status, reason := token.Reason(err); status != 0 {
		return &Error{Status: status, Reason: reason, Details: token.Detail(err), Cause: err}
	}
	return &Error{Status: http.StatusInternalServerError, Reason: "INTERNAL_ERROR", Details: "internal server error", Cause: err}
}

// detail is the client-safe message of errors whose text carries no secret
// or internal path (token policy, size and parse errors).
func detail(err error) string { return err.Error() }

type errorBody struct {
	Error struct {
		Reason  string `json:"reason"`
		Details string `json:"details,omitempty"`
	} `json:"error"`
}

// writeError sends err in the Pinning Service API error shape.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toAPIError(err)
	if e.Status >= 500 && !errors.Is(err, context.Canceled) { // a client that left is not a server fault
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "reason", e.Reason, "err", err)
	}
	if e.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	var body errorBody
	body.Error.Reason = e.Reason
	body.Error.Details = e.Details
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}
