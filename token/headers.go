package token

import (
	"fmt"
	"strings"
)

// Presented is a credential as the client presented it: its kind, the
// secret string to verify or hash, and how it came (for logs and errors).
// Nothing about it is trusted yet.
type Presented struct {
	Kind   Kind
	Secret string
	Scheme string // "X-Api-Key", "Bearer" or "Signed"
}

// FromHeaders extracts the credential from the X-Api-Key and Authorization
// header values (the server passes them in; "" when absent). Accepted:
//
//	X-Api-Key: bws_…
//	Authorization: Bearer bws_… | sup_… | <jwt>
//	Authorization: Signed sup_…
//
// The scheme is case-insensitive. It checks syntax only (prefix, length,
// checksum, JWT shape and algorithm family); no lookup, no signature.
// Both headers at once, other schemes and anything malformed are
// ErrMalformed. No credential at all is ErrMissing, which also matches
// ErrUnknown (HTTP 401 UNAUTHORIZED either way).
func FromHeaders(xAPIKey, authorization string) (Presented, error) {
	xAPIKey, authorization = strings.TrimSpace(xAPIKey), strings.TrimSpace(authorization)
	switch {
	case xAPIKey == "" && authorization == "":
		return Presented{}, ErrMissing
	case xAPIKey != "" && authorization != "":
		return Presented{}, fmt.Errorf("%w: send one of X-Api-Key and Authorization, not both", ErrMalformed)
	case xAPIKey != "":
		kind, err := ParseOpaque(xAPIKey)
		if err != nil {
			return Presented{}, err
		}
		if kind != KindAPIKey {
			return Presented{}, fmt.Errorf("%w: X-Api-Key takes an API key (bws_…), got a %v", ErrMalformed, kind)
		}
		return Presented{Kind: kind, Secret: xAPIKey, Scheme: "X-Api-Key"}, nil
	}
	scheme, cred, ok := strings.Cut(authorization, " ")
	cred = strings.TrimSpace(cred)
	if !ok || cred == "" {
		return Presented{}, fmt.Errorf("%w: Authorization must be \"Bearer <token>\" or \"Signed <token>\"", ErrMalformed)
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		kind, err := Classify(cred)
		if err != nil {
			return Presented{}, err
		}
		return Presented{Kind: kind, Secret: cred, Scheme: "Bearer"}, nil
	case strings.EqualFold(scheme, "Signed"):
		kind, err := ParseOpaque(cred)
		if err != nil {
			return Presented{}, err
		}
		if kind != KindUploadToken {
			return Presented{}, fmt.Errorf("%w: Signed takes an upload token (sup_…), got a %v", ErrMalformed, kind)
		}
		return Presented{Kind: kind, Secret: cred, Scheme: "Signed"}, nil
	}
	return Presented{}, fmt.Errorf("%w: unsupported Authorization scheme", ErrMalformed)
}

// Classify returns the kind of a bare credential string (an opaque token
// or a JWT), checking syntax only. The server uses it for credentials that
// arrive outside the headers (the multipart "token" field, ?token=).
func Classify(cred string) (Kind, error) {
	if LooksLikeJWT(cred) {
		return JWTKind(cred)
	}
	return ParseOpaque(cred)
}
