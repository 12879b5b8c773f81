package token

import (
	"errors"
	"testing"
	"time"
)

// TestPublishNameNarrowsLikeABoundParameter: a child may bind the name
// only if its issuer has scope names or binds the same name; a bound
// name is inherited and cannot be changed; CheckPublish lets a bound
// credential publish to its name only, and scope names to any.
func TestPublishNameNarrowsLikeABoundParameter(t *testing.T) {
	key := Grant{Kind: KindAPIKey, AccountID: "a", CredentialID: "key_1", Scopes: []Scope{ScopeUpload, ScopeNames, ScopeTokensWrite}}
	noNames := Grant{Kind: KindAPIKey, AccountID: "a", CredentialID: "key_2", Scopes: []Scope{ScopeUpload, ScopeTokensWrite}}

	tok, err := key.Narrow(KindUploadToken, []Scope{ScopeUpload}, Constraints{PublishName: "k51a"})
	if err != nil || tok.PublishName != "k51a" {
		t.Fatalf("bind by a names key: %v %v", tok.PublishName, err)
	}
	if _, err := noNames.Narrow(KindUploadToken, []Scope{ScopeUpload}, Constraints{PublishName: "k51a"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("bind by a key without names: %v", err)
	}
	if _, err := tok.Narrow(KindUploadToken, []Scope{ScopeUpload}, Constraints{PublishName: "k51b"}); !errors.Is(err, ErrParamMismatch) {
		t.Fatalf("rebinding another name: %v", err)
	}
	child, err := tok.Narrow(KindUploadToken, []Scope{ScopeUpload}, Constraints{})
	if err != nil || child.PublishName != "k51a" {
		t.Fatalf("the bound name is inherited: %v %v", child.PublishName, err)
	}

	for _, tc := range []struct {
		g    Grant
		name string
		ok   bool
	}{
		{tok, "k51a", true},
		{tok, "k51b", false},
		{key, "k51b", true},
		{noNames, "k51a", false},
		{Grant{Scopes: []Scope{ScopeAdmin}}, "k51a", true},
		{Grant{Scopes: []Scope{ScopeNames}, Constraints: Constraints{PublishName: "k51a"}}, "k51b", false},
	} {
		err := tc.g.CheckPublish(tc.name)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrForbidden)) {
			t.Errorf("%v with %q publishing to %s: %v", tc.g.Scopes, tc.g.PublishName, tc.name, err)
		}
	}
}

func TestAnAccessJWTCarriesItsPublishName(t *testing.T) {
	s := NewSigner(testEdKey(1))
	c := accessClaims()
	c.PublishName = "k51qzi5uqu5d"
	tok, err := s.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Verify(tok, t0.Add(time.Hour))
	if err != nil || got.PublishName != c.PublishName {
		t.Fatalf("verify: %v %v", got, err)
	}
	parent := Grant{Kind: KindAPIKey, AccountID: "acc_1", CredentialID: "key_1", Scopes: []Scope{ScopeAdmin}}
	g, err := got.Grant(parent)
	if err != nil || g.PublishName != c.PublishName {
		t.Fatalf("grant: %v %v", g.PublishName, err)
	}
	if err := g.CheckPublish("k51other"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("the JWT publishes to another name: %v", err)
	}
}
