package cli

import (
	"slices"
	"strings"
	"testing"
)

// TestGatewayDomainsAreHostNamesMaybeWithAPort: --gateway-domains takes
// bare domain names (lower-cased, a trailing dot dropped) and a port for
// local tests, and refuses URLs, paths and IP addresses with a message
// naming the flag.
func TestGatewayDomainsAreHostNamesMaybeWithAPort(t *testing.T) {
	got, err := parseGatewayDomains([]string{"Example.COM.", " localhost:8080", "", "pin.example.org"})
	if want := []string{"example.com", "localhost:8080", "pin.example.org"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"https://example.com", "example.com/ipfs", "127.0.0.1", "[::1]:8080", "example.com:http", "-x.example.com", "a_b.example.com"} {
		if _, err := parseGatewayDomains([]string{bad}); err == nil || !strings.Contains(err.Error(), "--gateway-domains") {
			t.Errorf("%q: err %v, want a --gateway-domains error", bad, err)
		}
	}
}

// TestGatewayDomainsComeFromTheFlagTheEnvironmentOrTheFile: the setting
// is a serve flag like the others, so its environment variable and its
// config-file key work.
func TestGatewayDomainsComeFromTheFlagTheEnvironmentOrTheFile(t *testing.T) {
	file := writeConfig(t, `gateway-domains = ["example.com", "example.org"]`+"\n")
	if s := showSettings(t, "--config", file)["gateway-domains"]; !strings.Contains(tomlValue(t, s.Value), "example.org") {
		t.Errorf("from the file: %+v", s)
	}
	t.Setenv("NINJA_GATEWAY_DOMAINS", "env.example")
	if s := showSettings(t)["gateway-domains"]; !strings.Contains(tomlValue(t, s.Value), "env.example") {
		t.Errorf("from the environment: %+v", s)
	}
}
