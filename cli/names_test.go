package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestNameCommandsCreatePublishListDelete: `ninja name` through the admin
// socket of a running server and remotely with --server and a key; the
// gateway serves what was published, and a token made with
// --publish-name carries the name.
func TestNameCommandsCreatePublishListDelete(t *testing.T) {
	data := t.TempDir()
	s := serveInProcess(t, data)
	c := s.upload(t, s.adminKey, "v1.txt", []byte("first version"))

	name, stderr, code := run(t, "name", "create", "blog", "--data", data)
	name = strings.TrimSpace(name)
	if code != 0 || !strings.HasPrefix(name, "k51") {
		t.Fatalf("name create: exit %d %q %s", code, name, stderr)
	}
	out, stderr, code := run(t, "name", "publish", "blog", c, "--data", data, "--sequence", "3", "--lifetime", "24h")
	if code != 0 || !strings.Contains(out, "/ipns/"+name+" -> /ipfs/"+c) || !strings.Contains(out, "sequence 3") {
		t.Fatalf("name publish: exit %d %q %s", code, out, stderr)
	}
	if st, body := s.do(t, "GET", "/ipns/"+name, ""); st != 200 || string(body) != "first version" {
		t.Fatalf("gateway: %d %s", st, body)
	}
	// A stale sequence is refused with the API's reason.
	if _, stderr, code = run(t, "name", "publish", "blog", c, "--data", data, "--sequence", "3"); code == 0 || !strings.Contains(stderr, "CONFLICT") {
		t.Fatalf("stale publish: exit %d %s", code, stderr)
	}
	c2 := s.upload(t, s.adminKey, "v2.txt", []byte("second version"))
	if _, stderr, code = run(t, "name", "publish", name, "/ipfs/"+c2, "--server", s.url, "--api-key", s.adminKey); code != 0 {
		t.Fatalf("remote publish: exit %d %s", code, stderr)
	}
	out, stderr, code = run(t, "name", "list", "--data", data, "--json")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0]["value"] != "/ipfs/"+c2 || list[0]["sequence"].(float64) != 4 {
		t.Fatalf("name list: exit %d %q %s", code, out, stderr)
	}
	out, stderr, code = run(t, "token", "create", "--data", data, "--publish-name", "blog", "--json")
	if code != 0 || !strings.Contains(out, `"publishName": "`+name+`"`) {
		t.Fatalf("token create --publish-name: exit %d %q %s", code, out, stderr)
	}
	if out, stderr, code = run(t, "name", "delete", "blog", "--data", data); code != 0 {
		t.Fatalf("name delete: exit %d %q %s", code, out, stderr)
	}
	if st, _ := s.do(t, "GET", "/ipns/"+name, ""); st != 404 {
		t.Fatalf("gateway after delete: %d", st)
	}
}
