package token

import (
	"maps"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func apiKeyGrant() Grant {
	return Grant{
		Kind: KindAPIKey, AccountID: "acc_1", CredentialID: "key_1", IssuerKeyID: "key_1",
		Prefix: "bws_abcdefgh", Scopes: []Scope{ScopeUpload, ScopePinsRead, ScopeTokensWrite},
	}
}

func pfx(s ...string) []netip.Prefix {
	out, err := ParseCIDRs(s)
	if err != nil {
		panic(err)
	}
	return out
}

func TestNarrow(t *testing.T) {
	limited := apiKeyGrant()
	limited.Constraints = Constraints{
		ExpiresAt: t0.Add(time.Hour), MaxUploads: 10, MaxFileBytes: 5 * MB, MaxTotalBytes: 50 * MB,
		AllowedMimeTypes: []string{"image/*", "application/pdf"},
		IPAllow:          pfx("10.0.0.0/8", "2001:db8::/32"),
		AllowedOrigins:   []string{"https://app.example"},
		Name:             "avatar.png",
		Metadata:         map[string]string{"user": "42"},
	}
	admin := apiKeyGrant()
	admin.Scopes = []Scope{ScopeAdmin}

	tests := []struct {
		name   string
		parent Grant
		scopes []Scope
		c      Constraints
		want   error
		check  func(t *testing.T, g Grant)
	}{
		{name: "a subset of scopes is allowed", parent: apiKeyGrant(), scopes: []Scope{ScopeUpload},
			check: func(t *testing.T, g Grant) {
				if g.AccountID != "acc_1" || g.IssuerKeyID != "key_1" || g.Kind != KindUploadToken || g.CredentialID != "" {
					t.Fatalf("identity not inherited: %+v", g)
				}
			}},
		{name: "a scope the parent lacks is forbidden", parent: apiKeyGrant(), scopes: []Scope{ScopePinsWrite}, want: ErrForbidden},
		{name: "admin is forbidden to a non-admin parent", parent: apiKeyGrant(), scopes: []Scope{ScopeAdmin}, want: ErrForbidden},
		{name: "an admin parent may grant any scope", parent: admin, scopes: []Scope{ScopePinsWrite, ScopeAnalyticsRead}},
		{name: "no scopes is a bad request", parent: apiKeyGrant(), want: ErrBadRequest},
		{name: "an unknown scope is a bad request", parent: admin, scopes: []Scope{"root"}, want: ErrBadRequest},
		{name: "negative limits are a bad request", parent: apiKeyGrant(), scopes: []Scope{ScopeUpload}, c: Constraints{MaxUploads: -1}, want: ErrBadRequest},
		{name: "an unconstrained child inherits every constraint", parent: limited, scopes: []Scope{ScopeUpload},
			check: func(t *testing.T, g Grant) {
				want := limited.Constraints
				if !reflect.DeepEqual(g.Constraints, want) {
					t.Fatalf("got %+v\nwant %+v", g.Constraints, want)
				}
			}},
		{name: "expiry, uses and sizes take the tighter value", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{ExpiresAt: t0.Add(2 * time.Hour), MaxUploads: 3, MaxFileBytes: 10 * MB, MaxTotalBytes: 1 * MB},
			check: func(t *testing.T, g Grant) {
				if !g.ExpiresAt.Equal(t0.Add(time.Hour)) || g.MaxUploads != 3 || g.MaxFileBytes != 5*MB || g.MaxTotalBytes != MB {
					t.Fatalf("got %+v", g.Constraints)
				}
			}},
		{name: "a child limit applies where the parent has none", parent: apiKeyGrant(), scopes: []Scope{ScopeUpload},
			c: Constraints{ExpiresAt: t0, MaxUploads: 1, MaxUses: 4},
			check: func(t *testing.T, g Grant) {
				if !g.ExpiresAt.Equal(t0) || g.MaxUploads != 1 || g.MaxUses != 4 {
					t.Fatalf("got %+v", g.Constraints)
				}
			}},
		{name: "an exact type inside the parent's wildcard is allowed", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{AllowedMimeTypes: []string{"image/png", "image/*"}}},
		{name: "a type outside the parent's list is forbidden", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{AllowedMimeTypes: []string{"video/mp4"}}, want: ErrForbidden},
		{name: "a wildcard wider than the parent's exact type is forbidden", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{AllowedMimeTypes: []string{"application/*"}}, want: ErrForbidden},
		{name: "*/* under a restricted parent is forbidden", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{AllowedMimeTypes: []string{"*/*"}}, want: ErrForbidden},
		{name: "networks inside the parent's are allowed, v4 and v6", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{IPAllow: pfx("10.1.2.3", "2001:db8:1::/48")}},
		{name: "a network wider than the parent's is forbidden", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{IPAllow: pfx("10.0.0.0/7")}, want: ErrForbidden},
		{name: "a network outside the parent's is forbidden", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{IPAllow: pfx("192.168.0.0/16")}, want: ErrForbidden},
		{name: "an origin outside the parent's is forbidden", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{AllowedOrigins: []string{"https://evil.example"}}, want: ErrForbidden},
		{name: "changing a bound name is a mismatch", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{Name: "other.png"}, want: ErrParamMismatch},
		{name: "repeating a bound name is fine", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{Name: "avatar.png"}},
		{name: "changing bound metadata is a mismatch", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{Metadata: map[string]string{"user": "43"}}, want: ErrParamMismatch},
		{name: "adding metadata keys merges them", parent: limited, scopes: []Scope{ScopeUpload},
			c: Constraints{Metadata: map[string]string{"album": "x"}},
			check: func(t *testing.T, g Grant) {
				if !maps.Equal(g.Metadata, map[string]string{"user": "42", "album": "x"}) {
					t.Fatalf("metadata %v", g.Metadata)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := tt.parent.Narrow(KindUploadToken, tt.scopes, tt.c)
			wantErr(t, err, tt.want)
			if err == nil && tt.check != nil {
				tt.check(t, g)
			}
		})
	}
}

// TestNarrowNeverWidens narrows random children from random parents and
// checks the invariant on every success: whatever the child allows, the
// parent allows.
func TestNarrowNeverWidens(t *testing.T) {
	types := []string{"image/png", "image/*", "application/pdf", "*/*", "text/plain"}
	nets := pfx("10.0.0.0/8", "10.1.0.0/16", "0.0.0.0/0", "2001:db8::/32", "192.168.1.1")
	r := rnd(9)
	pick := func(n int) int {
		var b [1]byte
		r.Read(b[:])
		return int(b[0]) % n
	}
	sub := func(list []string) []string {
		var out []string
		for _, x := range list {
			if pick(3) == 0 {
				out = append(out, x)
			}
		}
		return out
	}
	subNets := func() []netip.Prefix {
		var out []netip.Prefix
		for _, x := range nets {
			if pick(3) == 0 {
				out = append(out, x)
			}
		}
		return out
	}
	probeTypes := []string{"image/png", "image/gif", "application/pdf", "text/plain", "video/mp4"}
	probeIPs := []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("10.9.9.9"), netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.168.1.1")}
	for i := range 2000 {
		parent := apiKeyGrant()
		parent.Scopes = []Scope{AllScopes()[pick(len(AllScopes()))], AllScopes()[pick(len(AllScopes()))]}
		parent.AllowedMimeTypes, parent.IPAllow = sub(types), subNets()
		parent.MaxFileBytes = int64(pick(3)) * MB
		cs := []Scope{AllScopes()[pick(len(AllScopes()))]}
		child, err := parent.Narrow(KindUploadToken, cs, Constraints{AllowedMimeTypes: sub(types), IPAllow: subNets(), MaxFileBytes: int64(pick(3)) * MB})
		if err != nil {
			continue
		}
		for _, s := range AllScopes() {
			if child.Allows(s) && !parent.Allows(s) {
				t.Fatalf("case %d: child allows scope %s the parent lacks", i, s)
			}
		}
		for _, typ := range probeTypes {
			f := File{Size: 1, DeclaredType: typ, SniffedType: typ}
			if child.CheckFile(f) == nil && parent.CheckFile(f) != nil {
				t.Fatalf("case %d: child allows %s, parent does not (%v vs %v)", i, typ, child.AllowedMimeTypes, parent.AllowedMimeTypes)
			}
		}
		for _, ip := range probeIPs {
			req := Request{Now: t0, Scope: cs[0], ClientIP: ip}
			if child.Check(req) == nil && parent.Check(req) != nil {
				t.Fatalf("case %d: child allows %v, parent does not", i, ip)
			}
		}
		if parent.MaxFileBytes > 0 && (child.MaxFileBytes == 0 || child.MaxFileBytes > parent.MaxFileBytes) {
			t.Fatalf("case %d: child size %d, parent %d", i, child.MaxFileBytes, parent.MaxFileBytes)
		}
	}
}

func TestCheck(t *testing.T) {
	g := apiKeyGrant()
	g.ExpiresAt = t0.Add(time.Minute)
	g.IPAllow = pfx("203.0.113.0/24", "2001:db8::/32")
	g.AllowedOrigins = []string{"https://app.example", "http://localhost:3000"}
	open := apiKeyGrant()
	ok := Request{Now: t0, Scope: ScopeUpload, ClientIP: netip.MustParseAddr("203.0.113.7"), Origin: "https://app.example"}
	with := func(f func(r *Request)) Request { r := ok; f(&r); return r }
	tests := []struct {
		name string
		g    Grant
		r    Request
		want error
	}{
		{"a request inside every constraint passes", g, ok, nil},
		{"a request at the expiry instant is expired", g, with(func(r *Request) { r.Now = t0.Add(time.Minute) }), ErrExpired},
		{"a request one second before expiry passes", g, with(func(r *Request) { r.Now = t0.Add(59 * time.Second) }), nil},
		{"a scope the grant lacks is forbidden", g, with(func(r *Request) { r.Scope = ScopePinsWrite }), ErrForbidden},
		{"a request naming no scope is forbidden", g, with(func(r *Request) { r.Scope = "" }), ErrForbidden},
		{"an IPv4 client outside the list is refused", g, with(func(r *Request) { r.ClientIP = netip.MustParseAddr("198.51.100.1") }), ErrIPNotAllowed},
		{"an IPv6 client inside the list passes", g, with(func(r *Request) { r.ClientIP = netip.MustParseAddr("2001:db8::42") }), nil},
		{"an IPv6 client outside the list is refused", g, with(func(r *Request) { r.ClientIP = netip.MustParseAddr("2001:db9::1") }), ErrIPNotAllowed},
		{"an IPv4-mapped IPv6 client matches its IPv4 network", g, with(func(r *Request) { r.ClientIP = netip.MustParseAddr("::ffff:203.0.113.9") }), nil},
		{"an unknown client address is refused when a list is set", g, with(func(r *Request) { r.ClientIP = netip.Addr{} }), ErrIPNotAllowed},
		{"an origin outside the list is refused", g, with(func(r *Request) { r.Origin = "https://evil.example" }), ErrOriginNotAllowed},
		{"an origin that differs only in case and default port passes", g, with(func(r *Request) { r.Origin = "HTTPS://App.Example:443" }), nil},
		{"a missing Origin is refused when origins are set", g, with(func(r *Request) { r.Origin = "" }), ErrOriginNotAllowed},
		{"a missing Origin passes when no origins are set", open, with(func(r *Request) { r.Origin = ""; r.ClientIP = netip.Addr{} }), nil},
		{"admin implies every scope", Grant{Scopes: []Scope{ScopeAdmin}}, Request{Now: t0, Scope: ScopeAnalyticsRead}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.g.Check(tt.r), tt.want) })
	}
}

func TestCheckFile(t *testing.T) {
	g := Grant{Constraints: Constraints{MaxFileBytes: 1 * MB, AllowedMimeTypes: []string{"image/png", "text/*"}}}
	png := "image/png"
	exe := Sniff(append([]byte("MZ\x90\x00"), make([]byte, 120)...))
	tests := []struct {
		name string
		f    File
		want error
	}{
		{"a PNG under the limit passes", File{Size: 100, DeclaredType: png, SniffedType: png}, nil},
		{"a file over the size limit is refused", File{Size: MB + 1, DeclaredType: png, SniffedType: png}, ErrSizeExceeded},
		{"a file exactly at the limit passes", File{Size: MB, DeclaredType: png, SniffedType: png}, nil},
		{"an unknown size is left to the stream limiter", File{Size: -1, SniffedType: png}, nil},
		{"a Windows exe renamed to .png and declared image/png is refused", File{Size: 124, Name: "cat.png", DeclaredType: png, SniffedType: exe}, ErrMimeNotAllowed},
		{"a declared type outside the list is refused", File{Size: 1, DeclaredType: "image/gif", SniffedType: png}, ErrMimeNotAllowed},
		{"a generic declared type defers to the sniffed one", File{Size: 1, DeclaredType: "application/octet-stream", SniffedType: png}, nil},
		{"a wildcard admits a text subtype with parameters", File{Size: 1, DeclaredType: "text/csv; charset=utf-8", SniffedType: "text/plain; charset=utf-8"}, nil},
		{"HTML declared as text/plain is still text/* and passes", File{Size: 1, DeclaredType: "text/plain", SniffedType: "text/html; charset=utf-8"}, nil},
		{"an unsniffed file is refused under a list", File{Size: 1, DeclaredType: png}, ErrMimeNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, g.CheckFile(tt.f), tt.want) })
	}

	onlyCSV := Grant{Constraints: Constraints{AllowedMimeTypes: []string{"text/csv"}}}
	wantErr(t, onlyCSV.CheckFile(File{Size: 1, DeclaredType: "text/csv", SniffedType: "text/plain; charset=utf-8"}), nil)
	wantErr(t, onlyCSV.CheckFile(File{Size: 1, DeclaredType: "text/csv", SniffedType: "text/html; charset=utf-8"}), ErrMimeNotAllowed)
	wantErr(t, onlyCSV.CheckFile(File{Size: 1, SniffedType: "text/plain; charset=utf-8"}), ErrMimeNotAllowed)
}

func TestFileLimit(t *testing.T) {
	tests := []struct {
		name       string
		file, tot  int64
		used, want int64
	}{
		{"no limits is -1", 0, 0, 0, -1},
		{"the per-file limit alone applies", 10, 0, 5, 10},
		{"the cumulative remainder applies when smaller", 10, 12, 5, 7},
		{"an exhausted total gives zero", 10, 12, 20, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Grant{Constraints: Constraints{MaxFileBytes: tt.file, MaxTotalBytes: tt.tot}}
			if got := g.FileLimit(tt.used); got != tt.want {
				t.Fatalf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestBind(t *testing.T) {
	g := Grant{Constraints: Constraints{Name: "report.pdf", Metadata: map[string]string{"user": "42"}, Group: "grp_a"}}
	v1 := 1
	tests := []struct {
		name string
		p    Params
		want error
		out  Params
	}{
		{"absent params take the bound values", Params{}, nil, Params{Name: "report.pdf", Metadata: map[string]string{"user": "42"}, Group: "grp_a"}},
		{"the same name is fine", Params{Name: "report.pdf", CIDVersion: &v1}, nil, Params{Name: "report.pdf", Metadata: map[string]string{"user": "42"}, CIDVersion: &v1, Group: "grp_a"}},
		{"a different name is a mismatch", Params{Name: "evil.exe"}, ErrParamMismatch, Params{}},
		{"a different bound metadata value is a mismatch", Params{Metadata: map[string]string{"user": "1"}}, ErrParamMismatch, Params{}},
		{"extra metadata keys are merged", Params{Metadata: map[string]string{"tag": "x"}}, nil, Params{Name: "report.pdf", Metadata: map[string]string{"user": "42", "tag": "x"}, Group: "grp_a"}},
		{"the bound group is fine", Params{Group: "grp_a"}, nil, Params{Name: "report.pdf", Metadata: map[string]string{"user": "42"}, Group: "grp_a"}},
		{"another group is a mismatch", Params{Group: "grp_b"}, ErrParamMismatch, Params{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := g.Bind(tt.p)
			wantErr(t, err, tt.want)
			if err == nil && !reflect.DeepEqual(got, tt.out) {
				t.Fatalf("got %+v, want %+v", got, tt.out)
			}
		})
	}
	free, err := Grant{}.Bind(Params{Name: "a.txt", Group: "grp_b"})
	if err != nil || free.Name != "a.txt" || free.Group != "grp_b" {
		t.Fatalf("unbound grant: %+v %v", free, err)
	}
	// A child binds a group its parent leaves open, never another one.
	child, err := Grant{Kind: KindAPIKey, Scopes: []Scope{ScopeUpload}}.Narrow(KindUploadToken, []Scope{ScopeUpload}, Constraints{Group: "grp_a"})
	if err != nil || child.Group != "grp_a" {
		t.Fatalf("binding a group: %+v %v", child, err)
	}
	_, err = child.Narrow(KindUploadToken, []Scope{ScopeUpload}, Constraints{Group: "grp_b"})
	wantErr(t, err, ErrParamMismatch)
}
