package token

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of
// them (ErrMissing also wraps ErrUnknown) with a detail message, so callers
// branch with errors.Is and show the detail. HTTP statuses are the
// server's business (server/errors.go), not this package's.
var (
	// ErrMalformed means the credential is syntactically invalid: bad prefix,
	// length, alphabet, checksum, JWT structure, header or claims.
	ErrMalformed = errors.New("malformed credential")
	// ErrUnknown means a well-formed credential that the server does not know
	// (no record for its hash, jti or kid).
	ErrUnknown = errors.New("unknown credential")
	// ErrMissing means the request carried no credential at all. It wraps
	// ErrUnknown so code that only cares about "not authenticated" can test
	// for ErrUnknown.
	ErrMissing = fmtWrap(ErrUnknown, "missing credential")
	// ErrExpired means the credential is outside its validity window
	// (expired, or a JWT that is not valid yet).
	ErrExpired = errors.New("credential expired")
	// ErrRevoked means the credential, or an ancestor of it, was revoked.
	ErrRevoked = errors.New("credential revoked")
	// ErrForbidden means the credential lacks the scope for the request, or
	// a child credential would be wider than its parent.
	ErrForbidden = errors.New("forbidden")
	// ErrExhausted means the credential has no uses left.
	ErrExhausted = errors.New("credential exhausted")
	// ErrIPNotAllowed means the client address is outside the credential's
	// IP allow list.
	ErrIPNotAllowed = errors.New("ip not allowed")
	// ErrOriginNotAllowed means the request's Origin is not in the
	// credential's allowed origins.
	ErrOriginNotAllowed = errors.New("origin not allowed")
	// ErrSizeExceeded means a file, or the credential's cumulative total, is
	// over its size limit.
	ErrSizeExceeded = errors.New("size exceeded")
	// ErrMimeNotAllowed means the declared or sniffed content type is not in
	// the credential's allowed MIME types.
	ErrMimeNotAllowed = errors.New("mime type not allowed")
	// ErrParamMismatch means the request tried to change an upload parameter
	// the credential binds.
	ErrParamMismatch = errors.New("parameter mismatch")
	// ErrReplayed means a single-use credential (an upload JWT's jti) was
	// already used.
	ErrReplayed = errors.New("credential replayed")
	// ErrBadRequest means invalid input that is not itself a credential:
	// unknown scope, bad expiresIn, bad CIDR, bad size.
	ErrBadRequest = errors.New("bad request")
)

// wrapped is an error with its own message that still matches a sentinel
// with errors.Is; used for ErrMissing so its text is not "unknown
// credential: missing credential".
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

func fmtWrap(err error, msg string) error { return &wrapped{msg: msg, err: err} }
