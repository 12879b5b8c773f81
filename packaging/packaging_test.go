// Package packaging holds the files ninja is deployed with (the systemd
// unit, the Dockerfile, an example configuration); its test checks what
// each must say, since neither systemd nor Docker runs in the test.
package packaging

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ninja-ipfs/ninja/cli"
)

// directives reads a systemd unit or a Dockerfile: every non-comment line
// split at its first separator into key and value, values in order.
func directives(t *testing.T, path, sep string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	var cont string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cont != "" {
			line = cont + " " + line
			cont = ""
		}
		if strings.HasSuffix(line, "\\") {
			cont = strings.TrimSuffix(line, "\\")
			continue
		}
		k, v, _ := strings.Cut(line, sep)
		out[strings.TrimSpace(k)] = append(out[strings.TrimSpace(k)], strings.TrimSpace(v))
	}
	return out
}

func TestTheSystemdUnitSandboxesTheServiceAndLetsItWriteOnlyItsData(t *testing.T) {
	u := directives(t, "ninja.service", "=")
	tests := []struct {
		key, want string
	}{
		{"User", "ninja"},
		{"ProtectSystem", "strict"},
		{"ReadWritePaths", "/var/lib/ninja"},
		{"NoNewPrivileges", "yes"},
		{"PrivateTmp", "yes"},
		{"Restart", "on-failure"},
		{"AmbientCapabilities", "CAP_NET_BIND_SERVICE"},
		{"Environment", "NINJA_DATA=/var/lib/ninja"},
		{"ExecReload", "/bin/kill -HUP $MAINPID"},
	}
	for _, tt := range tests {
		found := false
		for _, v := range u[tt.key] {
			found = found || v == tt.want
		}
		if !found {
			t.Errorf("%s=%s is missing (have %q)", tt.key, tt.want, u[tt.key])
		}
	}
	if n, err := strconv.Atoi(first(u["LimitNOFILE"])); err != nil || n < 8192 {
		t.Errorf("LimitNOFILE=%q: libp2p needs far more than the default 1024", first(u["LimitNOFILE"]))
	}
	if !strings.Contains(first(u["ExecStart"]), "ninja serve") {
		t.Errorf("ExecStart=%q does not run ninja serve", first(u["ExecStart"]))
	}
	// The stop timeout leaves room for the drain (--shutdown-timeout, 30 s).
	if d := strings.TrimSuffix(first(u["TimeoutStopSec"]), "s"); d == "" || mustAtoi(t, d) <= 30 {
		t.Errorf("TimeoutStopSec=%q is not longer than the 30 s drain", first(u["TimeoutStopSec"]))
	}
}

func TestTheDockerfileBuildsAStaticBinaryRunByANonRootUserWithAReadinessCheck(t *testing.T) {
	d := directives(t, "Dockerfile", " ")
	if len(d["FROM"]) < 2 {
		t.Errorf("%d FROM lines: want a build stage and a runtime stage", len(d["FROM"]))
	}
	joined := strings.Join(append(d["ENV"], d["RUN"]...), " ")
	if !strings.Contains(joined, "CGO_ENABLED=0") || !strings.Contains(joined, "-trimpath") {
		t.Errorf("the build is not static and -trimpath: ENV %q RUN %q", d["ENV"], d["RUN"])
	}
	if u := first(d["USER"]); u == "" || u == "root" || strings.HasPrefix(u, "0") {
		t.Errorf("USER %q: want a non-root user", u)
	}
	if !strings.Contains(first(d["HEALTHCHECK"]), `ninja", "ready"]`) {
		t.Errorf("HEALTHCHECK %q does not run ninja ready (GET /readyz)", first(d["HEALTHCHECK"]))
	}
	if first(d["VOLUME"]) != "/data" || !strings.Contains(strings.Join(d["ENV"], " "), "NINJA_DATA=/data") {
		t.Errorf("VOLUME %q, ENV %q: want the data directory in the /data volume", d["VOLUME"], d["ENV"])
	}
	if !strings.Contains(first(d["CMD"]), "serve") {
		t.Errorf("CMD %q does not serve", d["CMD"])
	}
}

func TestTheExampleConfigurationIsValid(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cli.Run(context.Background(), []string{"config", "show", "--config", "ninja.toml"}, &out, &errb); code != 0 {
		t.Fatalf("ninja config show --config ninja.toml: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{`acme-domains = ["pin.example.com"]`, `data = "/var/lib/ninja"`, `https = ":443"`, `http = ":80"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the example's effective configuration lacks %s:\n%s", want, out.String())
		}
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number of seconds", s)
	}
	return n
}
