package token

import (
	"encoding/json"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestParseExpiresIn(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{`3600`, time.Hour, false},
		{`"1h"`, time.Hour, false},
		{`"30m"`, 30 * time.Minute, false},
		{`"1h30m"`, 90 * time.Minute, false},
		{`"3600"`, time.Hour, false},
		{`"7d"`, 7 * 24 * time.Hour, false},
		{`"30d"`, MaxExpiresIn, false},
		{``, 0, false},
		{`null`, 0, false},
		{`0`, 0, true},
		{`-5`, 0, true},
		{`"0s"`, 0, true},
		{`"-1h"`, 0, true},
		{`"31d"`, 0, true},
		{`2592001`, 0, true},
		{`1e300`, 0, true},
		{`1.5`, 0, true},
		{`"soon"`, 0, true},
		{`""`, 0, true},
		{`"7 d"`, 0, true},
		{`true`, 0, true},
		{`{"h":1}`, 0, true},
	}
	for _, tt := range tests {
		got, err := ParseExpiresIn(json.RawMessage(tt.in))
		if tt.err {
			if !errors.Is(err, ErrBadRequest) {
				t.Errorf("ParseExpiresIn(%s) = %v, %v; want ErrBadRequest", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseExpiresIn(%s) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1024", 1024}, {"50MB", 50 << 20}, {"50mb", 50 << 20}, {"1.5GiB", 3 << 29},
		{"10 KB", 10 << 10}, {"2g", 2 << 30}, {"1TiB", 1 << 40}, {"0.5MB", 1 << 19},
	}
	for _, tt := range tests {
		if got, err := ParseSize(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "MB", "0", "-1MB", "1.2.3MB", "5 parsecs", "9999999999TB", "0.0000001B"} {
		if _, err := ParseSize(bad); !errors.Is(err, ErrBadRequest) {
			t.Errorf("ParseSize(%q) = %v, want ErrBadRequest", bad, err)
		}
	}
}

func TestParseMB(t *testing.T) {
	for in, want := range map[string]int64{`10`: 10 << 20, `0.5`: 1 << 19, `"2"`: 2 << 20, ``: 0, `null`: 0} {
		if got, err := ParseMB(json.RawMessage(in)); err != nil || got != want {
			t.Errorf("ParseMB(%s) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{`0`, `-1`, `1e3`, `"ten"`, `true`} {
		if _, err := ParseMB(json.RawMessage(bad)); !errors.Is(err, ErrBadRequest) {
			t.Errorf("ParseMB(%s) = %v, want ErrBadRequest", bad, err)
		}
	}
}

func TestParseCIDRs(t *testing.T) {
	got, err := ParseCIDRs([]string{"10.0.0.0/8", " 192.168.1.7 ", "2001:db8::/32", "2001:db8::1", "10.1.2.3/8", "::ffff:10.0.0.0/104"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32", "2001:db8::1/128", "10.0.0.0/8", "10.0.0.0/8"}
	for i, p := range got {
		if p.String() != want[i] {
			t.Errorf("entry %d = %v, want %s", i, p, want[i])
		}
	}
	if !got[1].Contains(netip.MustParseAddr("192.168.1.7")) {
		t.Error("bare IPv4 does not contain itself")
	}
	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "fe80::1%eth0", "10.0.0.256"} {
		if _, err := ParseCIDRs([]string{bad}); !errors.Is(err, ErrBadRequest) {
			t.Errorf("ParseCIDRs(%q) = %v, want ErrBadRequest", bad, err)
		}
	}
}

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example":       "https://app.example",
		"HTTPS://App.Example:443":   "https://app.example",
		"http://localhost:3000/":    "http://localhost:3000",
		"http://example.com:80":     "http://example.com",
		"https://example.com:8443":  "https://example.com:8443",
		"http://[2001:DB8::1]:8080": "http://[2001:db8::1]:8080",
	} {
		if got, err := NormalizeOrigin(in); err != nil || got != want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "null", "app.example", "https://app.example/path", "https://u:p@app.example", "https://app.example?x=1"} {
		if _, err := NormalizeOrigin(bad); !errors.Is(err, ErrBadRequest) {
			t.Errorf("NormalizeOrigin(%q) = %v, want ErrBadRequest", bad, err)
		}
	}
}

func TestParseScopes(t *testing.T) {
	got, err := ParseScopes([]string{"upload", "pins:read", "upload"})
	if err != nil || len(got) != 2 || got[0] != ScopeUpload || got[1] != ScopePinsRead {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"Admin", "pins", "root", ""} {
		if _, err := ParseScopes([]string{bad}); !errors.Is(err, ErrBadRequest) {
			t.Errorf("ParseScopes(%q) = %v, want ErrBadRequest", bad, err)
		}
	}
}
