package cli

import (
	"strings"
	"testing"
)

func TestReadyExitsZeroOnlyWhileAServerIsReady(t *testing.T) {
	data := t.TempDir()
	s := serveInProcess(t, data)
	if out, errb, code := run(t, "ready", "--data", data); code != 0 || strings.TrimSpace(out) != "ready" {
		t.Fatalf("ready with a server: exit %d, %q %q", code, out, errb)
	}
	if out, errb, code := run(t, "ready", "--server", s.url); code != 0 {
		t.Fatalf("ready --server: exit %d, %q %q", code, out, errb)
	}
	s.stop()
	_, errb, code := run(t, "ready", "--data", data)
	if code != 1 || !strings.Contains(errb, "not ready: no server answers") {
		t.Fatalf("ready without a server: exit %d, %q; want 1 and why", code, errb)
	}
}
