package token

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// SniffLen is how many leading bytes Sniff looks at (the same window as
// http.DetectContentType). The server sniffs each file's first SniffLen
// bytes before it checks the grant.
const SniffLen = 512

// mediaType lower-cases a content type and drops its parameters
// ("Text/Plain; charset=utf-8" -> "text/plain").
func mediaType(t string) string {
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return strings.ToLower(strings.TrimSpace(t))
}

// MatchMime reports whether content type typ matches pattern: an exact type
// ("image/png"), a type wildcard ("image/*") or "*/*". Both are compared
// case-insensitively and without parameters ("; charset=utf-8").
func MatchMime(pattern, typ string) bool {
	pattern, typ = mediaType(pattern), mediaType(typ)
	if pattern == "*/*" {
		return typ != ""
	}
	if major, ok := strings.CutSuffix(pattern, "/*"); ok {
		t, _, ok := strings.Cut(typ, "/")
		return ok && t == major
	}
	return pattern == typ
}

func matchAny(patterns []string, typ string) bool {
	for _, p := range patterns {
		if MatchMime(p, typ) {
			return true
		}
	}
	return false
}

// mimeWithin reports whether pattern c admits nothing that parent does not:
// used by Narrow to keep a child's types within its parent's.
func mimeWithin(parent []string, c string) bool {
	c = mediaType(c)
	for _, p := range parent {
		p = mediaType(p)
		switch {
		case p == "*/*", p == c:
			return true
		case strings.HasSuffix(p, "/*") && !strings.HasSuffix(c, "/*") && MatchMime(p, c):
			return true
		}
	}
	return false
}

// ParseMimeTypes validates allowedMimeTypes patterns ("type/subtype",
// "type/*" or "*/*") and returns them lower-cased without parameters.
// "*/png" and bare words are ErrBadRequest.
func ParseMimeTypes(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, raw := range in {
		t := mediaType(raw)
		major, minor, ok := strings.Cut(t, "/")
		if !ok || !validToken(major) && major != "*" || !validToken(minor) && minor != "*" || major == "*" && minor != "*" {
			return nil, fmt.Errorf("%w: invalid MIME type pattern %q", ErrBadRequest, raw)
		}
		out = append(out, t)
	}
	return out, nil
}

// validToken reports whether s is a non-empty RFC 2045 token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=*`, c) >= 0 {
			return false
		}
	}
	return true
}

// CheckMime applies an allowedMimeTypes list to a file; an empty list
// allows everything. The sniffed type must match, and so must the declared
// type when one is given and is not the generic application/octet-stream:
// a Windows executable renamed to .png and declared image/png sniffs as
// application/vnd.microsoft.portable-executable and is refused.
//
// One relaxation: sniffing cannot tell text formats apart (CSV, Markdown
// and YAML all sniff as text/plain), so when the bytes sniff as plain text
// and the declared type is textual and allowed, the file is allowed.
func CheckMime(allowed []string, f File) error {
	if len(allowed) == 0 {
		return nil
	}
	declared := mediaType(f.DeclaredType)
	if declared == "application/octet-stream" {
		declared = ""
	}
	if declared != "" && !matchAny(allowed, declared) {
		return fmt.Errorf("%w: declared type %q of %s not in %v", ErrMimeNotAllowed, declared, fileLabel(f.Name), allowed)
	}
	sniffed := mediaType(f.SniffedType)
	if sniffed == "" {
		return fmt.Errorf("%w: content type of %s unknown", ErrMimeNotAllowed, fileLabel(f.Name))
	}
	if matchAny(allowed, sniffed) {
		return nil
	}
	if sniffed == "text/plain" && declared != "" && textual(declared) {
		return nil
	}
	return fmt.Errorf("%w: content of %s is %q, not in %v", ErrMimeNotAllowed, fileLabel(f.Name), sniffed, allowed)
}

// textual reports whether a declared type is a text format that sniffs as
// text/plain. HTML and XML are excluded on purpose: the sniffer recognises
// them, so a text/plain verdict means the bytes are not HTML.
func textual(t string) bool {
	switch {
	case t == "text/html", t == "text/xml", t == "image/svg+xml":
		return false
	case strings.HasPrefix(t, "text/"),
		t == "application/json", strings.HasSuffix(t, "+json"),
		t == "application/yaml", t == "application/x-yaml", t == "application/toml",
		t == "application/x-ndjson", t == "application/javascript":
		return true
	}
	return false
}

// Sniff returns the content type of a file from its first bytes (up to
// SniffLen): http.DetectContentType, plus the signatures it lacks that
// matter for upload allow lists:
//
//   - executables: ELF (application/x-executable), Windows PE "MZ"
//     (application/vnd.microsoft.portable-executable), Mach-O
//     (application/x-mach-binary), OLE2/MSI (application/x-ole-storage),
//     scripts starting with "#!" (text/x-shellscript);
//   - ISO-BMFF images: HEIC/HEIF (image/heic, image/heif), AVIF (image/avif);
//   - SVG (image/svg+xml), which the standard sniffer calls text/xml or
//     text/plain;
//   - JSON objects and arrays (application/json), which it calls text/plain.
//
// The point: an allow list of image types must refuse an executable whatever
// its name and declared type.
func Sniff(head []byte) string {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	if t := sniffExtra(head); t != "" {
		return t
	}
	t := http.DetectContentType(head)
	switch mediaType(t) {
	case "text/plain":
		if looksLikeJSON(head) {
			return "application/json"
		}
		if isSVG(head) {
			return "image/svg+xml"
		}
	case "text/xml":
		if isSVG(head) {
			return "image/svg+xml"
		}
	}
	return t
}

func sniffExtra(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		return "application/x-executable"
	case bytes.HasPrefix(b, []byte("MZ")) && len(b) >= 64:
		// DOS header; e_lfanew at 0x3c points at "PE\0\0" in PE files, but
		// the header alone is enough to refuse it as an image.
		return "application/vnd.microsoft.portable-executable"
	case bytes.HasPrefix(b, []byte("\xfe\xed\xfa\xce")), bytes.HasPrefix(b, []byte("\xfe\xed\xfa\xcf")),
		bytes.HasPrefix(b, []byte("\xce\xfa\xed\xfe")), bytes.HasPrefix(b, []byte("\xcf\xfa\xed\xfe")):
		return "application/x-mach-binary"
	case bytes.HasPrefix(b, []byte("\xca\xfe\xba\xbe")) && len(b) >= 8:
		// Shared by fat Mach-O and Java class files: file(1)'s heuristic,
		// a fat binary has few architectures, a class file a major version
		// of 45 or more.
		if binary.BigEndian.Uint32(b[4:8]) < 20 {
			return "application/x-mach-binary"
		}
		return "application/java-vm"
	case bytes.HasPrefix(b, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return "application/x-ole-storage"
	case bytes.HasPrefix(b, []byte("#!")):
		return "text/x-shellscript"
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		return sniffFtyp(b)
	}
	return ""
}

// sniffFtyp recognises HEIF-family images by their ISO-BMFF major brand,
// then by compatible brands; other ftyp files (MP4, QuickTime) are left to
// the standard sniffer.
func sniffFtyp(b []byte) string {
	size := int(binary.BigEndian.Uint32(b[:4]))
	if size < 16 || size > len(b) {
		size = len(b)
	}
	brands := []string{string(b[8:12])}
	for i := 16; i+4 <= size; i += 4 {
		brands = append(brands, string(b[i:i+4]))
	}
	for _, br := range brands {
		switch br {
		case "avif", "avis":
			return "image/avif"
		case "heic", "heix", "hevc", "hevx", "heim", "heis":
			return "image/heic"
		}
	}
	for _, br := range brands {
		if br == "mif1" || br == "msf1" {
			return "image/heif"
		}
	}
	return ""
}

// looksLikeJSON reports whether head is a JSON object or array: it parses
// completely, or it is syntactically valid until the sniff window cuts it.
func looksLikeJSON(head []byte) bool {
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) == 0 || t[0] != '{' && t[0] != '[' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	depth := 0
	for {
		tok, err := dec.Token()
		switch {
		case err == nil:
			if d, ok := tok.(json.Delim); ok {
				if d == '{' || d == '[' {
					depth++
				} else {
					depth--
				}
			}
			continue
		case errors.Is(err, io.EOF) && depth == 0:
			// One or more complete values; garbage after a value makes
			// Token fail with a syntax error instead.
			return true
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			// Cut mid-value: JSON only if the window, not the file, ended.
			return len(head) >= SniffLen
		default:
			return false
		}
	}
}

// isSVG reports whether textual head opens an <svg> root element, possibly
// after an XML declaration, comments or a doctype.
func isSVG(head []byte) bool {
	t := bytes.ToLower(head)
	i := bytes.Index(t, []byte("<svg"))
	if i < 0 {
		return false
	}
	// Only prologue may precede the root: no other element start.
	pre := t[:i]
	for j := 0; j < len(pre); j++ {
		if pre[j] == '<' && j+1 < len(pre) && pre[j+1] != '?' && pre[j+1] != '!' {
			return false
		}
	}
	return true
}
