package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ninja-ipfs/ninja/api"
)

// showSettings runs `ninja config show --json` with args and returns the
// settings by name.
func showSettings(t *testing.T, args ...string) map[string]setting {
	t.Helper()
	out, errb, code := run(t, append([]string{"config", "show", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("config show %v: exit %d: %s", args, code, errb)
	}
	var list []setting
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("config show --json: %v\n%s", err, out)
	}
	m := make(map[string]setting, len(list))
	for _, s := range list {
		m[s.Name] = s
	}
	return m
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ninja.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func tomlValue(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEveryServeSettingIsAKeyOfTheConfigFileAndShowPrintsValidTOML(t *testing.T) {
	defaults := showSettings(t)
	cmd := newServeCmd(&globalFlags{})
	want := 1 // --data, a flag of every command
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !notInFile[f.Name] {
			want++
		}
	})
	if len(defaults) != want {
		t.Fatalf("config show lists %d settings; serve has %d", len(defaults), want)
	}
	for _, name := range []string{"http", "tls-cert", "acme-domains", "min-free-space", "config"} {
		if cmd.Flags().Lookup(name) == nil {
			t.Fatalf("serve has no --%s", name)
		}
	}
	// The whole default configuration, as show prints it, is a valid file…
	out, _, code := run(t, "config", "show")
	if code != 0 {
		t.Fatal("config show failed")
	}
	all := writeConfig(t, out)
	got := showSettings(t, "--config", all)
	// …and every setting in it came from the file, with the value it had.
	for name, def := range defaults {
		if got[name].Source != "file "+all {
			t.Errorf("%s: source %q, want the file", name, got[name].Source)
		}
		if tomlValue(t, got[name].Value) != tomlValue(t, def.Value) {
			t.Errorf("%s: %s from the file, want %s", name, tomlValue(t, got[name].Value), tomlValue(t, def.Value))
		}
	}
}

func TestPrecedenceIsFlagThenEnvironmentThenFileThenDefault(t *testing.T) {
	file := writeConfig(t, `
http = "127.0.0.1:1001"
metrics = "127.0.0.1:1002"
public-url = "https://file.example.com"
`)
	t.Setenv("NINJA_HTTP", "127.0.0.1:2001")
	t.Setenv("NINJA_METRICS", "127.0.0.1:2002")
	got := showSettings(t, "--config", file, "--http", "127.0.0.1:3001")
	tests := []struct {
		name, key, value, source string
	}{
		{"a flag wins over the environment and the file", "http", "127.0.0.1:3001", "flag"},
		{"the environment wins over the file", "metrics", "127.0.0.1:2002", "env NINJA_METRICS"},
		{"the file wins over the default", "public-url", "https://file.example.com", "file " + file},
		{"the default applies when nothing sets it", "log-level", "info", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s := got[tt.key]; s.Value != tt.value || s.Source != tt.source {
				t.Errorf("%s = %v from %q, want %s from %q", tt.key, s.Value, s.Source, tt.value, tt.source)
			}
		})
	}
}

func TestTheConfigFileNamesTheFileLineAndKeyOfWhatIsWrong(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"an unknown key", "offline = true\nlisten = \"x\"\n", []string{":2:", `unknown key "listen"`}},
		{"a table", "[acme]\ndomains = [\"a.example.com\"]\n", []string{":1:", `unknown key "acme"`}},
		{"a value the flag's parser refuses", "\n\npin-timeout = \"10\"\n", []string{":3:", "pin-timeout", "missing unit"}},
		{"a number for an address", "http = 8080\n", []string{":1:", "http", "want a string"}},
		{"a word for a boolean", "offline = \"yes\"\n", []string{":1:", "offline", `"yes"`}},
		{"an array for a single value", "log-level = [\"info\"]\n", []string{":1:", "log-level", "not an array"}},
		{"a bad value even where a flag overrides it", "max-files = \"many\"\n", []string{":1:", "max-files"}},
		{"broken TOML", "http = \"unterminated\n", []string{":1:", "http"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeConfig(t, tt.text)
			_, errb, code := run(t, "serve", "--config", file, "--data", t.TempDir(), "--max-files", "5")
			if code == 0 {
				t.Fatal("serve started with a bad config file")
			}
			for _, w := range append(tt.want, file) {
				if !strings.Contains(errb, w) {
					t.Errorf("error %q does not say %q", errb, w)
				}
			}
		})
	}
}

func TestConfigShowRedactsSecretsButNotTheEmailOrFileNames(t *testing.T) {
	file := writeConfig(t, `
acme-eab-hmac-key = "c2VjcmV0LWhtYWMta2V5"
acme-email = "ops@example.com"
acme-ca = "https://user:hunter2@ca.example.com/directory"
tls-key = "/etc/ninja/key.pem"
`)
	out, errb, code := run(t, "config", "show", "--config", file)
	if code != 0 {
		t.Fatalf("config show: %s", errb)
	}
	for _, secret := range []string{"c2VjcmV0LWhtYWMta2V5", "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("config show prints the secret %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{
		`acme-eab-hmac-key = "<redacted>"`, `acme-email = "ops@example.com"`,
		`acme-ca = "https://user:<redacted>@ca.example.com/directory"`, `tls-key = "/etc/ninja/key.pem"`,
		fmt.Sprintf("# file %s", file),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config show lacks %q:\n%s", want, out)
		}
	}
}

func TestServeUsesTheConfigFile(t *testing.T) {
	data := t.TempDir()
	// The file's http is overridden by serveInProcess's --http flag; its
	// public-url applies.
	file := writeConfig(t, "http = \"127.0.0.1:1\"\npublic-url = \"https://pin.example.com\"\n")
	s := serveInProcess(t, data, "--config", file)
	code, body := s.do(t, "GET", "/readyz", "")
	if code != 200 {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	req, _ := http.NewRequest("POST", s.url+"/upload/new", strings.NewReader(`{"content":{"a":1}}`))
	req.Header.Set("Authorization", "Bearer "+s.adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res api.UploadResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %d %v", resp.StatusCode, err)
	}
	if !strings.HasPrefix(res.URIs.URL, "https://pin.example.com/ipfs/") {
		t.Errorf("uris.url %q does not use the file's public-url", res.URIs.URL)
	}
}
