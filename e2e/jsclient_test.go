//go:build e2e

package e2e

// The client library's own tests (clients/js/test, Node's test runner)
// against a real ninja started here, so make e2e runs them.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// jsDir is clients/js, whose node_modules `npm ci` fills (.ci/run does).
func jsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "clients", "js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "vue", "package.json")); err != nil {
		t.Fatalf("clients/js has no node_modules: run `npm ci` in clients/js (.ci/run does): %v", err)
	}
	return dir
}

func TestTheJSClientsNodeTestsPassAgainstARealNinja(t *testing.T) {
	dir := jsDir(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("no node on the PATH: the client library's tests need Node.js 20 or later")
	}
	n := startNinja(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// One file at a time: the type check's compiler would otherwise share
	// the cores with tests that time token expiries.
	cmd := exec.CommandContext(ctx, node, "--test", "--test-concurrency=1", "test/ninja.test.js", "test/tus.test.js", "test/vue.test.js", "test/types.test.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NINJA_URL="+n.url, "NINJA_ADMIN_KEY="+n.admin)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	if err != nil {
		t.Fatalf("the client library's tests failed: %v", err)
	}
}
