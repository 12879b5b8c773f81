package server_test

import (
	"strings"
	"testing"
)

func TestUrisURLIsHTTPSBehindATrustedProxyThatTerminatedTLS(t *testing.T) {
	tests := []struct {
		name    string
		proxies []string
		proto   string
		want    string
	}{
		{"a trusted proxy saying https gets https links", []string{"127.0.0.0/8"}, "https", "https://"},
		{"an untrusted peer cannot ask for https links", nil, "https", "http://"},
		{"a trusted proxy saying http keeps http", []string{"127.0.0.0/8"}, "http", "http://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withProxies(tt.proxies...))
			resp := e.do("POST", "/upload/new", map[string]string{"X-Api-Key": e.key, "Content-Type": "application/json",
				"X-Forwarded-Proto": tt.proto}, strings.NewReader(`{"content":{"a":1}}`))
			if resp.status != 200 {
				t.Fatalf("upload: %d %s", resp.status, resp.body)
			}
			url := resp.json(t)["uris"].(map[string]any)["url"].(string)
			if !strings.HasPrefix(url, tt.want) {
				t.Errorf("uris.url = %q, want %s…", url, tt.want)
			}
		})
	}
}
