package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
)

// Kind is the kind of a credential.
type Kind int

// Credential kinds. The zero Kind is invalid so a forgotten assignment never
// passes for a real credential.
const (
	KindAPIKey      Kind = iota + 1 // opaque "bws_…", server-to-server
	KindUploadToken                 // opaque "sup_…", signed upload token
	KindUploadJWT                   // HS256 JWS minted by an app's backend
	KindAccessJWT                   // EdDSA JWS minted by this server
)

// String returns a short lower-case name, used in logs and error details.
func (k Kind) String() string {
	switch k {
	case KindAPIKey:
		return "api key"
	case KindUploadToken:
		return "upload token"
	case KindUploadJWT:
		return "upload jwt"
	case KindAccessJWT:
		return "access jwt"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Label is the kind as a metric label or log field: "api_key",
// "upload_token", "upload_jwt", "access_jwt" ("unknown" for the zero Kind).
func (k Kind) Label() string {
	switch k {
	case KindAPIKey:
		return "api_key"
	case KindUploadToken:
		return "upload_token"
	case KindUploadJWT:
		return "upload_jwt"
	case KindAccessJWT:
		return "access_jwt"
	}
	return "unknown"
}

// Prefix returns the literal prefix of an opaque kind ("bws_", "sup_") and
// "" for the JWT kinds, which have none.
func (k Kind) Prefix() string {
	switch k {
	case KindAPIKey:
		return "bws_"
	case KindUploadToken:
		return "sup_"
	}
	return ""
}

const (
	prefixLen = 4
	// randLen is 160 bits: comfortably above the design's 128-bit floor, so
	// guessing is hopeless even with the display prefix (40 bits) public.
	randLen = 20
	// sumLen catches typos and garbage before any database or HMAC work; it
	// is not a security boundary (anyone can compute it).
	sumLen = 4
	// OpaqueLen is the fixed length of every opaque credential:
	// 4-byte prefix + lower-case base32 of 24 bytes (39 characters).
	OpaqueLen = prefixLen + (8*(randLen+sumLen)+4)/5
	// DisplayLen is the length of DisplayPrefix's result: the prefix plus 8
	// characters (40 of the 160 random bits), enough to tell keys apart in a
	// list or an analytics filter, far too few to guess the rest.
	DisplayLen = 12
)

// alphabet is RFC 4648 base32 in lower case: no ambiguous case when a user
// copies a token, URL- and header-safe, and fixed-length without padding.
const alphabet = "abcdefghijklmnopqrstuvwxyz234567"

// enc only encodes; decoding goes through decode32, which is strict (one
// spelling per credential: non-zero trailing bits are rejected) and
// allocation-free.
var enc = base32.NewEncoding(alphabet).WithPadding(base32.NoPadding)

// decodeMap maps an alphabet byte to its 5-bit value, 0xff elsewhere.
var decodeMap = func() (m [256]byte) {
	for i := range m {
		m[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = byte(i)
	}
	return m
}()

// NewOpaque mints a new opaque credential of kind (KindAPIKey or
// KindUploadToken): prefix + base32(20 random bytes + 4-byte checksum).
// The result is a secret: store only Hasher.Sum of it and show it once.
func NewOpaque(kind Kind, rnd io.Reader) (string, error) {
	p := kind.Prefix()
	if p == "" {
		return "", fmt.Errorf("%w: %v has no opaque form", ErrBadRequest, kind)
	}
	var raw [randLen + sumLen]byte
	if _, err := io.ReadFull(rnd, raw[:randLen]); err != nil {
		return "", fmt.Errorf("new %v: read random: %w", kind, err)
	}
	sum := checksum(p, raw[:randLen])
	copy(raw[randLen:], sum[:sumLen])
	return p + enc.EncodeToString(raw[:]), nil
}

func checksum(prefix string, random []byte) [sha256.Size]byte {
	var buf [prefixLen + randLen]byte
	copy(buf[:], prefix)
	copy(buf[prefixLen:], random)
	return sha256.Sum256(buf[:])
}

// ParseOpaque validates an opaque credential's prefix, length, alphabet and
// checksum, without any lookup, and returns its kind. Anything else is
// ErrMalformed. It allocates nothing on success and costs about a
// microsecond on garbage, which never reaches the database.
func ParseOpaque(s string) (Kind, error) {
	if len(s) != OpaqueLen {
		return 0, fmt.Errorf("%w: opaque credential must be %d characters, got %d", ErrMalformed, OpaqueLen, len(s))
	}
	var kind Kind
	switch s[:prefixLen] {
	case "bws_":
		kind = KindAPIKey
	case "sup_":
		kind = KindUploadToken
	default:
		return 0, fmt.Errorf("%w: unknown credential prefix", ErrMalformed)
	}
	var raw [randLen + sumLen]byte
	if !decode32(raw[:], s[prefixLen:]) {
		return 0, fmt.Errorf("%w: credential is not lower-case base32", ErrMalformed)
	}
	sum := checksum(s[:prefixLen], raw[:randLen])
	if subtle.ConstantTimeCompare(sum[:sumLen], raw[randLen:]) != 1 {
		return 0, fmt.Errorf("%w: credential checksum mismatch", ErrMalformed)
	}
	return kind, nil
}

// decode32 decodes unpadded lower-case base32 into dst, which must be exactly
// the decoded length; it rejects bytes outside the alphabet and non-zero
// trailing bits (the strict, single-spelling rule of enc).
func decode32(dst []byte, src string) bool {
	if len(src) != (8*len(dst)+4)/5 {
		return false
	}
	var acc uint64
	bits, n := 0, 0
	for i := 0; i < len(src); i++ {
		v := decodeMap[src[i]]
		if v == 0xff {
			return false
		}
		acc = acc<<5 | uint64(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			dst[n] = byte(acc >> bits)
			n++
		}
	}
	return acc&(1<<bits-1) == 0
}

// DisplayPrefix returns the first DisplayLen characters of a credential
// ("sup_abcdefgh"): the tokenPrefix / API_KEY_PREFIX shown in lists and
// recorded on analytics events. It is safe to log; the full token is not.
func DisplayPrefix(s string) string {
	if len(s) <= DisplayLen {
		return s
	}
	return s[:DisplayLen]
}

// randomString returns prefix + lower-case base32 of n random bytes.
func randomString(prefix string, n int, rnd io.Reader) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return prefix + enc.EncodeToString(b), nil
}

// NewID returns a public record identifier: prefix (such as "key_", "tok_",
// "acc_") + 16 base32 characters of 80 random bits. IDs are not secrets;
// they name records in URLs (DELETE /signed-tokens/{tokenId}).
func NewID(prefix string, rnd io.Reader) (string, error) {
	return randomString(prefix, 10, rnd)
}

// NewJTI returns a fresh JWT ID: 128 random bits, base32 (26 characters).
func NewJTI(rnd io.Reader) (string, error) {
	return randomString("", 16, rnd)
}

// NewServerSecret returns 32 random bytes for the server's HMAC secret
// ([NewHasher]); main.go stores it in the data directory with mode 0600.
func NewServerSecret(rnd io.Reader) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return nil, fmt.Errorf("new server secret: read random: %w", err)
	}
	return b, nil
}

// Hasher computes the keyed hash under which opaque credentials are stored:
// a stolen database alone does not let anyone recompute or test a token.
// It is safe for concurrent use.
type Hasher struct {
	// pool reuses keyed HMAC states: hmac.New hashes the key into inner and
	// outer pads, and Reset restores them, so a Sum costs two SHA-256
	// blocks and no allocation.
	pool sync.Pool
}

// NewHasher returns a Hasher keyed with the server secret. It panics if the
// secret is shorter than 16 bytes: a short or empty secret is a wiring bug
// that must not silently produce guessable hashes.
func NewHasher(secret []byte) *Hasher {
	if len(secret) < 16 {
		panic("token: NewHasher: secret shorter than 16 bytes")
	}
	key := append([]byte(nil), secret...)
	h := &Hasher{}
	h.pool.New = func() any {
		return &hmacState{mac: hmac.New(sha256.New, key), in: make([]byte, 0, 64), out: make([]byte, 0, sha256.Size)}
	}
	return h
}

// hmacState is a pooled keyed HMAC with scratch buffers, so that Sum does
// not allocate: bytes passed to a hash.Hash method escape to the heap.
type hmacState struct {
	mac     hash.Hash
	in, out []byte
}

// Sum returns HMAC-SHA256(secret, tok).
func (h *Hasher) Sum(tok string) [32]byte {
	st := h.pool.Get().(*hmacState)
	st.mac.Reset()
	st.in = append(st.in[:0], tok...)
	st.mac.Write(st.in)
	st.out = st.mac.Sum(st.out[:0])
	var out [32]byte
	copy(out[:], st.out)
	if cap(st.in) <= 1024 { // a huge garbage token must not stay pinned
		h.pool.Put(st)
	}
	return out
}

// Equal reports whether two hashes are equal, in constant time.
func Equal(a, b [32]byte) bool {
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// Upload-signing keys: an app's backend mints upload JWTs offline with a
// secret it got from ninja; the JWT header's kid names the key.
const (
	signingKeyIDPrefix  = "usk_"
	signingSecretPrefix = "uss_"
	// signingKeyIDLen is "usk_" + base32 of 10 bytes.
	signingKeyIDLen = len(signingKeyIDPrefix) + 16
)

// NewSigningKeyID returns a new upload-signing key id ("usk_" + 80 random
// bits). It is public: it goes in every upload JWT's kid header.
func NewSigningKeyID(rnd io.Reader) (string, error) {
	return randomString(signingKeyIDPrefix, 10, rnd)
}

// NewSigningSecret returns a new upload-signing secret ("uss_" + base32 of
// 32 random bytes). The HS256 key is the secret's string bytes, exactly as
// printed (prefix included), so an app's backend can use it verbatim with
// any JWT library. The server must store it retrievably (it verifies with
// it) and show it once.
func NewSigningSecret(rnd io.Reader) (string, error) {
	return randomString(signingSecretPrefix, 32, rnd)
}

// ValidSigningKeyID reports whether kid has the shape of a signing key id,
// so a malformed kid is refused before any lookup.
func ValidSigningKeyID(kid string) bool {
	if len(kid) != signingKeyIDLen || !strings.HasPrefix(kid, signingKeyIDPrefix) {
		return false
	}
	var raw [10]byte
	return decode32(raw[:], kid[len(signingKeyIDPrefix):])
}
