package pinning

import (
	"strings"
	"testing"
)

// FuzzCleanPath: an accepted upload path never escapes the upload and has
// no control characters.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"a.txt", "site/a.txt", "../x", "/etc/passwd", "a//b", "a/./b", `a\b`, "a/..", ".", "", "a\nb", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := CleanPath(name)
		if err != nil {
			return
		}
		if strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("CleanPath(%q) = %q", name, p)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("CleanPath(%q) = %q has segment %q", name, p, seg)
			}
		}
	})
}
