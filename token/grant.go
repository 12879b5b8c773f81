package token

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"
)

// Constraints limit what a credential may do. The zero value constrains
// nothing. A child credential's Constraints are always within its parent's
// (see [Grant.Narrow]).
type Constraints struct {
	// ExpiresAt is the instant the credential stops working; zero: never.
	ExpiresAt time.Time
	// MaxUploads caps successful uploads; 0: unlimited. The count lives in
	// the store, which reserves a use atomically before the body is read.
	MaxUploads int64
	// MaxUses caps authenticated requests of any kind (an access JWT's
	// maxUses); 0: unlimited. Counted by the store like MaxUploads.
	MaxUses int64
	// MaxFileBytes caps each file; 0: no cap. The wire form is maxSizeMB,
	// in MiB (1 MB = 1<<20 bytes, see [MB]).
	MaxFileBytes int64
	// MaxTotalBytes caps the cumulative bytes uploaded with the credential;
	// 0: no cap. The wire form is maxTotalMB, in MiB.
	MaxTotalBytes int64
	// AllowedMimeTypes are patterns ("image/png", "image/*", "*/*") that
	// both the declared and the sniffed type of every file must match;
	// empty: any type.
	AllowedMimeTypes []string
	// IPAllow lists the client networks (IPv4 and IPv6) allowed to use the
	// credential; empty: any address.
	IPAllow []netip.Prefix
	// AllowedOrigins lists the exact browser origins (scheme://host[:port],
	// normalised by [NormalizeOrigin]) allowed to use the credential;
	// empty: any origin, and requests without an Origin header.
	AllowedOrigins []string
	// Name is the file name every upload gets; "": not bound.
	Name string
	// Metadata is merged into every upload's metadata; the client may add
	// keys but not change a bound one. nil: not bound.
	Metadata map[string]string
	// Group is the group of pins every upload joins (a Pinata signed URL's
	// group_id); "": not bound.
	Group string
	// PublishName is the one IPNS name (canonical, "k51…") the credential
	// may publish to without scope names: an upload token or access JWT
	// that lets a browser upload a new version and move the name to it,
	// and nothing else of the account's names. "": none. A credential
	// with scope names and a PublishName may publish to that name only.
	PublishName string
}

// Grant is what a presented credential may do, whatever its encoding. The
// server builds it from the stored record (API key, upload token) or from
// verified JWT claims and the parent record ([UploadClaims.Grant],
// [AccessClaims.Grant]).
type Grant struct {
	Kind        Kind
	AccountID   string
	IssuerKeyID string // the API key it descends from (for an API key: itself)
	// CredentialID names the credential's record: key_…, tok_…, or the
	// JWT's jti.
	CredentialID string
	// Prefix is the display prefix recorded on analytics events
	// (API_KEY_PREFIX / tokenPrefix).
	Prefix string
	Scopes []Scope
	Constraints
}

// Allows reports whether the grant carries scope s (admin implies all).
func (g Grant) Allows(s Scope) bool { return allows(g.Scopes, s) }

// CheckPublish reports whether the grant may publish a record to the IPNS
// name (canonical, "k51…"): with PublishName set, to that name only
// (whatever its scopes), else with scope names. A refusal is ErrForbidden.
func (g Grant) CheckPublish(name string) error {
	switch {
	case g.PublishName != "":
		if g.PublishName != name {
			return fmt.Errorf("%w: the credential may publish to %s only", ErrForbidden, g.PublishName)
		}
		return nil
	case g.Allows(ScopeNames):
		return nil
	}
	return fmt.Errorf("%w: publishing needs scope %q or a credential bound to the name (publishName)", ErrForbidden, ScopeNames)
}

// Narrow derives a child grant of the given kind from g. A child can only
// narrow its parent:
//
//   - scopes must be a non-empty subset of what g allows (else ErrForbidden);
//   - ExpiresAt is the earlier of the two non-zero values;
//   - MaxUploads, MaxUses, MaxFileBytes, MaxTotalBytes are the smaller non-zero value
//     (negative values are ErrBadRequest);
//   - AllowedMimeTypes, IPAllow, AllowedOrigins: an empty child list
//     inherits the parent's; a non-empty one must lie within the parent's
//     when the parent has one (else ErrForbidden);
//   - bound Name, Metadata and Group are inherited; the child may bind a
//     name or group the parent leaves open and add metadata keys, but
//     changing a parent's bound value is ErrParamMismatch.
//
// AccountID and IssuerKeyID are inherited (an API key parent is its own
// issuer). CredentialID and Prefix are left for the caller, who knows the
// child's record.
func (g Grant) Narrow(kind Kind, scopes []Scope, c Constraints) (Grant, error) {
	if len(scopes) == 0 {
		return Grant{}, fmt.Errorf("%w: a %v needs at least one scope", ErrBadRequest, kind)
	}
	for _, s := range scopes {
		if !s.Valid() {
			return Grant{}, fmt.Errorf("%w: unknown scope %q", ErrBadRequest, s)
		}
		if !g.Allows(s) {
			return Grant{}, fmt.Errorf("%w: scope %q exceeds the issuer's scopes %v", ErrForbidden, s, g.Scopes)
		}
	}
	if c.MaxUploads < 0 || c.MaxUses < 0 || c.MaxFileBytes < 0 || c.MaxTotalBytes < 0 {
		return Grant{}, fmt.Errorf("%w: limits must not be negative", ErrBadRequest)
	}
	child := Grant{
		Kind:        kind,
		AccountID:   g.AccountID,
		IssuerKeyID: g.IssuerKeyID,
		Scopes:      slices.Clone(scopes),
	}
	if child.IssuerKeyID == "" && g.Kind == KindAPIKey {
		child.IssuerKeyID = g.CredentialID
	}
	p := g.Constraints
	n := &child.Constraints
	n.ExpiresAt = minTime(p.ExpiresAt, c.ExpiresAt)
	n.MaxUploads = minLimit(p.MaxUploads, c.MaxUploads)
	n.MaxUses = minLimit(p.MaxUses, c.MaxUses)
	n.MaxFileBytes = minLimit(p.MaxFileBytes, c.MaxFileBytes)
	n.MaxTotalBytes = minLimit(p.MaxTotalBytes, c.MaxTotalBytes)

	var err error
	if n.AllowedMimeTypes, err = narrowList("MIME type", p.AllowedMimeTypes, c.AllowedMimeTypes, mimeWithin); err != nil {
		return Grant{}, err
	}
	if n.IPAllow, err = narrowList("network", p.IPAllow, c.IPAllow, prefixWithin); err != nil {
		return Grant{}, err
	}
	if n.AllowedOrigins, err = narrowList("origin", p.AllowedOrigins, c.AllowedOrigins, slices.Contains[[]string]); err != nil {
		return Grant{}, err
	}

	n.Name = p.Name
	if c.Name != "" {
		if p.Name != "" && c.Name != p.Name {
			return Grant{}, fmt.Errorf("%w: name is bound to %q by the issuer", ErrParamMismatch, p.Name)
		}
		n.Name = c.Name
	}
	if n.Metadata, err = mergeMetadata(p.Metadata, c.Metadata); err != nil {
		return Grant{}, err
	}
	n.PublishName = p.PublishName
	if c.PublishName != "" {
		switch {
		case p.PublishName != "" && c.PublishName != p.PublishName:
			return Grant{}, fmt.Errorf("%w: publishName is bound to %q by the issuer", ErrParamMismatch, p.PublishName)
		case p.PublishName == "" && !g.Allows(ScopeNames):
			return Grant{}, fmt.Errorf("%w: publishName needs an issuer with scope %q", ErrForbidden, ScopeNames)
		}
		n.PublishName = c.PublishName
	}
	n.Group = p.Group
	if c.Group != "" {
		if p.Group != "" && c.Group != p.Group {
			return Grant{}, fmt.Errorf("%w: group is bound to %q by the issuer", ErrParamMismatch, p.Group)
		}
		n.Group = c.Group
	}
	return child, nil
}

func minTime(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

func minLimit(a, b int64) int64 {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// narrowList applies the list rule of Narrow: the child inherits an empty
// list, and each child entry must be within some parent entry when the
// parent restricts.
func narrowList[T any](what string, parent, child []T, within func(parent []T, c T) bool) ([]T, error) {
	if len(child) == 0 {
		return slices.Clone(parent), nil
	}
	if len(parent) > 0 {
		for _, c := range child {
			if !within(parent, c) {
				return nil, fmt.Errorf("%w: %s %v is outside the issuer's %v", ErrForbidden, what, c, parent)
			}
		}
	}
	return slices.Clone(child), nil
}

// prefixWithin reports whether network c is inside one of parent.
func prefixWithin(parent []netip.Prefix, c netip.Prefix) bool {
	for _, p := range parent {
		if p.Bits() <= c.Bits() && p.Contains(c.Addr()) {
			return true
		}
	}
	return false
}

// mergeMetadata returns parent's bound metadata plus child's extra keys;
// a child value that differs from a bound one is ErrParamMismatch.
func mergeMetadata(bound, req map[string]string) (map[string]string, error) {
	if bound == nil {
		return maps.Clone(req), nil
	}
	out := maps.Clone(bound)
	for k, v := range req {
		if b, ok := bound[k]; ok && b != v {
			return nil, fmt.Errorf("%w: metadata %q is bound to %q", ErrParamMismatch, k, b)
		}
		out[k] = v
	}
	return out, nil
}

// Request holds the facts about an HTTP request that are known before its
// body is read.
type Request struct {
	Now      time.Time
	Scope    Scope      // the scope the endpoint needs; required
	ClientIP netip.Addr // after trusted-proxy resolution; zero if unknown
	Origin   string     // the Origin header, "" if absent
}

// Check applies the grant to a request before its body is read, in order:
// expiry (ErrExpired), scope (ErrForbidden; an empty Scope is refused so a
// handler that forgets to name one fails closed), client IP
// (ErrIPNotAllowed; an unknown address is refused when the grant has an
// allow list) and origin (ErrOriginNotAllowed).
//
// Origin rule: a request without an Origin header comes from a non-browser
// client; it is allowed only when the grant sets no AllowedOrigins. A grant
// that names origins is meant for those web pages, and a missing Origin
// must not be a way around the list.
//
// Use counts and cumulative bytes live in the store and are not checked
// here; revocation is the store's lookup.
func (g Grant) Check(r Request) error {
	if !g.ExpiresAt.IsZero() && !r.Now.Before(g.ExpiresAt) {
		return fmt.Errorf("%w: %v expired at %s", ErrExpired, g.Kind, g.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if r.Scope == "" {
		return fmt.Errorf("%w: endpoint names no scope", ErrForbidden)
	}
	if !g.Allows(r.Scope) {
		return fmt.Errorf("%w: %v lacks scope %q", ErrForbidden, g.Kind, r.Scope)
	}
	if len(g.IPAllow) > 0 {
		ip := r.ClientIP.Unmap()
		ok := false
		for _, p := range g.IPAllow {
			if p.Contains(ip) {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("%w: %v is not in the allowed networks", ErrIPNotAllowed, r.ClientIP)
		}
	}
	if len(g.AllowedOrigins) > 0 {
		if r.Origin == "" {
			return fmt.Errorf("%w: request has no Origin header", ErrOriginNotAllowed)
		}
		if !slices.Contains(g.AllowedOrigins, r.Origin) {
			o, err := NormalizeOrigin(r.Origin)
			if err != nil || !slices.Contains(g.AllowedOrigins, o) {
				return fmt.Errorf("%w: origin %q", ErrOriginNotAllowed, r.Origin)
			}
		}
	}
	return nil
}

// File holds what is known about one uploaded file once its first bytes
// have been read.
type File struct {
	Size         int64  // -1 if unknown (streaming); the body limiter enforces it then
	DeclaredType string // the part's or request's Content-Type, "" if absent
	SniffedType  string // Sniff of the first SniffLen bytes
	Name         string // for error messages
}

// CheckFile applies the grant's per-file limits: size (ErrSizeExceeded,
// only when the size is known; a streaming upload must also be cut at
// [Grant.FileLimit]) and type (ErrMimeNotAllowed, see [CheckMime]).
func (g Grant) CheckFile(f File) error {
	if g.MaxFileBytes > 0 && f.Size > g.MaxFileBytes {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrSizeExceeded, fileLabel(f.Name), f.Size, g.MaxFileBytes)
	}
	return CheckMime(g.AllowedMimeTypes, f)
}

func fileLabel(name string) string {
	if name == "" {
		return "file"
	}
	return fmt.Sprintf("file %q", name)
}

// FileLimit returns the most bytes the next file may have, given the bytes
// already uploaded with this credential (used counts only committed
// uploads): the smaller of MaxFileBytes and the MaxTotalBytes remainder,
// or -1 when nothing limits it. The server cuts the stream there (413).
func (g Grant) FileLimit(used int64) int64 {
	limit := int64(-1)
	if g.MaxFileBytes > 0 {
		limit = g.MaxFileBytes
	}
	if g.MaxTotalBytes > 0 {
		rest := max(g.MaxTotalBytes-used, 0)
		if limit < 0 || rest < limit {
			limit = rest
		}
	}
	return limit
}

// Params are the upload parameters a request may supply and a credential
// may bind.
type Params struct {
	Name              string            // "": not supplied
	Description       string            // "": not supplied
	Metadata          map[string]string // nil: not supplied
	CIDVersion        *int              // nil: not supplied
	WrapWithDirectory *bool             // nil: not supplied
	Group             string            // the group of pins to join; "": not supplied
	// Fields are the other upload parameters by wire name, as the form
	// sends them (strings): ImageKit's tags, folder, customMetadata,
	// useUniqueFileName, … (see ImageKitParams). nil: none supplied.
	Fields map[string]string
}

// Bind applies the grant's bound Name, Group and Metadata to the request's
// params and returns the effective params. A bound name or group wins; a
// request that supplies a different one is ErrParamMismatch. Bound metadata is merged
// with the request's: the request may add keys but may not give a bound key
// a different value (ErrParamMismatch). Same or absent values are fine.
// CIDVersion and WrapWithDirectory pass through (only upload JWTs bind
// them, see [UploadClaims.CheckRequest]).
func (g Grant) Bind(p Params) (Params, error) {
	out := p
	if g.Name != "" {
		if p.Name != "" && p.Name != g.Name {
			return Params{}, fmt.Errorf("%w: name %q, token binds %q", ErrParamMismatch, p.Name, g.Name)
		}
		out.Name = g.Name
	}
	if g.Group != "" {
		if p.Group != "" && p.Group != g.Group {
			return Params{}, fmt.Errorf("%w: group %q, token binds %q", ErrParamMismatch, p.Group, g.Group)
		}
		out.Group = g.Group
	}
	md, err := mergeMetadata(g.Metadata, p.Metadata)
	if err != nil {
		return Params{}, err
	}
	out.Metadata = md
	return out, nil
}
