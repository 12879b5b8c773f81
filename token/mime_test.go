package token

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestMatchMime(t *testing.T) {
	tests := []struct {
		pattern, typ string
		want         bool
	}{
		{"image/png", "image/png", true},
		{"image/png", "IMAGE/PNG", true},
		{"image/png", "image/jpeg", false},
		{"image/*", "image/webp", true},
		{"image/*", "imagex/webp", false},
		{"image/*", "video/mp4", false},
		{"*/*", "application/x-executable", true},
		{"*/*", "", false},
		{"text/plain", "text/plain; charset=utf-8", true},
		{"Text/*", " text/csv ;charset=utf-8", true},
		{"image/*", "image", false},
	}
	for _, tt := range tests {
		if got := MatchMime(tt.pattern, tt.typ); got != tt.want {
			t.Errorf("MatchMime(%q, %q) = %v, want %v", tt.pattern, tt.typ, got, tt.want)
		}
	}
}

func TestParseMimeTypes(t *testing.T) {
	got, err := ParseMimeTypes([]string{"Image/PNG", "image/*", "*/*", "application/vnd.api+json; charset=utf-8"})
	if err != nil || strings.Join(got, ",") != "image/png,image/*,*/*,application/vnd.api+json" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "image", "*/png", "image/", "/png", "ima ge/png", "image/p*g"} {
		if _, err := ParseMimeTypes([]string{bad}); !errors.Is(err, ErrBadRequest) {
			t.Errorf("ParseMimeTypes(%q) = %v, want ErrBadRequest", bad, err)
		}
	}
}

func ftyp(major string, compat ...string) []byte {
	body := []byte("ftyp" + major + "\x00\x00\x00\x00" + strings.Join(compat, ""))
	size := len(body) + 4
	return append([]byte{0, 0, 0, byte(size)}, body...)
}

func TestSniff(t *testing.T) {
	pad := func(b []byte) []byte { return append(b, make([]byte, 100)...) }
	bigJSON := []byte(`{"items":[` + strings.Repeat(`{"a":1},`, 100))
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"a PNG is image/png", pad([]byte("\x89PNG\r\n\x1a\n")), "image/png"},
		{"a Windows PE is an executable", pad([]byte("MZ\x90\x00\x03")), "application/vnd.microsoft.portable-executable"},
		{"an ELF binary is an executable", pad([]byte("\x7fELF\x02\x01\x01")), "application/x-executable"},
		{"a 64-bit Mach-O is a Mach binary", pad([]byte("\xcf\xfa\xed\xfe")), "application/x-mach-binary"},
		{"a fat Mach-O is a Mach binary", pad([]byte("\xca\xfe\xba\xbe\x00\x00\x00\x02")), "application/x-mach-binary"},
		{"a Java class is not a Mach binary", pad([]byte("\xca\xfe\xba\xbe\x00\x00\x00\x34")), "application/java-vm"},
		{"an MSI is OLE storage", pad([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")), "application/x-ole-storage"},
		{"a shell script is a script, not plain text", []byte("#!/bin/sh\nrm -rf /\n"), "text/x-shellscript"},
		{"a HEIC photo is image/heic", pad(ftyp("heic", "mif1", "heic")), "image/heic"},
		{"an AVIF image is image/avif", pad(ftyp("avif", "mif1", "avif")), "image/avif"},
		{"a generic HEIF is image/heif", pad(ftyp("mif1", "mif1")), "image/heif"},
		{"an MP4 is left to the standard sniffer", pad(ftyp("isom", "isom", "mp41")), "video/mp4"},
		{"a JSON object is application/json", []byte(` {"a": [1, 2, "x"]}`), "application/json"},
		{"JSON cut by the sniff window is application/json", bigJSON, "application/json"},
		{"truncated JSON shorter than the window is text", []byte(`{"a": [1, 2`), "text/plain; charset=utf-8"},
		{"brace-prefixed prose is text", []byte(`{ this is not json }`), "text/plain; charset=utf-8"},
		{"a JSON scalar is text", []byte(`42`), "text/plain; charset=utf-8"},
		{"an SVG is image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`), "image/svg+xml"},
		{"an SVG with an XML declaration is image/svg+xml", []byte("<?xml version=\"1.0\"?>\n<svg></svg>"), "image/svg+xml"},
		{"XML that merely mentions svg later is XML", []byte("<?xml version=\"1.0\"?><doc><svg/></doc>"), "text/xml; charset=utf-8"},
		{"HTML is text/html", []byte("<!DOCTYPE html><html></html>"), "text/html; charset=utf-8"},
		{"nothing is plain text", nil, "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.in) > SniffLen && !bytes.Equal(tt.in, bigJSON) {
				t.Fatal("fixture longer than the sniff window")
			}
			if got := Sniff(tt.in); got != tt.want {
				t.Fatalf("Sniff = %q, want %q", got, tt.want)
			}
		})
	}
}
