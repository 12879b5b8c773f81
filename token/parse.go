package token

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MB is the unit of the wire's maxSizeMB and maxTotalMB, and of "MB" in
// ParseSize: 1 MiB (1<<20 bytes), as upload services commonly mean it.
const MB = 1 << 20

// MaxExpiresIn is the longest lifetime ParseExpiresIn accepts (30 days):
// upload tokens are meant to be short-lived hand-outs to browsers; anything
// longer-lived should be an API key or an access JWT.
const MaxExpiresIn = 30 * 24 * time.Hour

// ParseExpiresIn parses the wire's expiresIn: a JSON number of seconds
// (3600) or a string: a number of seconds ("3600"), a Go duration ("1h",
// "30m", "1h30m") or whole days ("7d"). The result must be positive and at
// most MaxExpiresIn. An absent or null value returns (0, nil): the caller
// applies its default. Errors wrap ErrBadRequest.
func ParseExpiresIn(raw json.RawMessage) (time.Duration, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var d time.Duration
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("%w: expiresIn: %v", ErrBadRequest, err)
		}
		var err error
		if d, err = parseDurationString(strings.TrimSpace(s)); err != nil {
			return 0, err
		}
	} else {
		n, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || n != math.Trunc(n) {
			return 0, fmt.Errorf("%w: expiresIn must be whole seconds or a duration string like \"1h\", got %s", ErrBadRequest, raw)
		}
		if n > MaxExpiresIn.Seconds() || n < -MaxExpiresIn.Seconds() {
			return 0, fmt.Errorf("%w: expiresIn %s exceeds the maximum of %v", ErrBadRequest, raw, MaxExpiresIn)
		}
		d = time.Duration(n) * time.Second
	}
	if d <= 0 {
		return 0, fmt.Errorf("%w: expiresIn must be positive", ErrBadRequest)
	}
	if d > MaxExpiresIn {
		return 0, fmt.Errorf("%w: expiresIn %v exceeds the maximum of %v", ErrBadRequest, d, MaxExpiresIn)
	}
	return d, nil
}

func parseDurationString(s string) (time.Duration, error) {
	bad := fmt.Errorf("%w: expiresIn %q: want seconds (\"3600\"), a duration (\"1h\", \"30m\") or days (\"7d\")", ErrBadRequest, s)
	if s == "" {
		return 0, bad
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > int64(MaxExpiresIn/time.Second) {
			return 0, fmt.Errorf("%w: expiresIn %q exceeds the maximum of %v", ErrBadRequest, s, MaxExpiresIn)
		}
		return time.Duration(n) * time.Second, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil {
			return 0, bad
		}
		if n > int64(MaxExpiresIn/(24*time.Hour)) {
			return 0, fmt.Errorf("%w: expiresIn %q exceeds the maximum of %v", ErrBadRequest, s, MaxExpiresIn)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, bad
	}
	return d, nil
}

// sizeUnits maps ParseSize's suffixes (lower case) to bytes. KB/MB/GB/TB
// are binary like the wire's maxSizeMB, so "50MB" on the CLI and
// maxSizeMB 50 on the wire are the same limit.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
}

// ParseSize parses a human size for the CLI: "1024", "50MB", "1.5GiB",
// "10 kb". Units are case-insensitive and binary (1 MB = 1 MiB = 1<<20).
// The result must be positive. Errors wrap ErrBadRequest.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("%w: size %q: want a number with an optional unit (B, KB, MB, GB, TB; binary)", ErrBadRequest, s)
	}
	return scaleSize(s, num, mult)
}

// scaleSize multiplies a decimal string by mult exactly for integers and to
// the nearest byte for fractions, refusing overflow and zero.
func scaleSize(orig, num string, mult int64) (int64, error) {
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n <= 0 || n > math.MaxInt64/mult {
			return 0, fmt.Errorf("%w: size %q out of range", ErrBadRequest, orig)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: size %q: %v", ErrBadRequest, orig, err)
	}
	v := math.Round(f * float64(mult))
	if v < 1 || v >= math.MaxInt64 {
		return 0, fmt.Errorf("%w: size %q out of range", ErrBadRequest, orig)
	}
	return int64(v), nil
}

// ParseMB parses the wire's maxSizeMB / maxTotalMB: a positive JSON number
// of MiB, fractions allowed (0.5 = 512 KiB), or the same number as a string.
// It returns bytes; absent or null is (0, nil), meaning no limit.
func ParseMB(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	num := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &num); err != nil {
			return 0, fmt.Errorf("%w: size in MB: %v", ErrBadRequest, err)
		}
		num = strings.TrimSpace(num)
	}
	if strings.ContainsAny(num, "eE+-") {
		return 0, fmt.Errorf("%w: size in MB must be a positive plain number, got %s", ErrBadRequest, raw)
	}
	return scaleSize(string(raw), num, MB)
}

// ParseCIDRs parses the wire's ipWhitelist: CIDRs ("10.0.0.0/8",
// "2001:db8::/32") or bare addresses, which become single-host prefixes
// (/32, /128). IPv4-mapped IPv6 addresses are unmapped so they match the
// IPv4 clients they denote; zones are refused. Errors wrap ErrBadRequest.
func ParseCIDRs(in []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for _, raw := range in {
		s := strings.TrimSpace(raw)
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			if p, err = netip.ParsePrefix(s); err != nil {
				return nil, fmt.Errorf("%w: ipWhitelist entry %q: %v", ErrBadRequest, raw, err)
			}
			if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			p = p.Masked()
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%w: ipWhitelist entry %q is not an IP address or CIDR", ErrBadRequest, raw)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

// NormalizeOrigin returns the canonical form of a web origin,
// scheme://host[:port] in lower case without the scheme's default port,
// so "HTTPS://App.Example:443" and "https://app.example" compare equal.
// Paths, queries, user info and the opaque origin "null" are refused
// (ErrBadRequest).
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%w: origin %q: want scheme://host[:port]", ErrBadRequest, s)
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// ParseOrigins normalises the wire's allowedOrigins with NormalizeOrigin.
func ParseOrigins(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		o, err := NormalizeOrigin(s)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
