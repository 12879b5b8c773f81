package node

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

// crashChildEnv makes the test binary act as the crashing child process.
const crashChildEnv = "NINJA_NODE_CRASH_CHILD_DIR"

// TestCommittedImportSurvivesKill9 runs an import in a child process,
// SIGKILLs it the moment Commit has returned, and checks that a node
// reopened on the same data dir has every block.
func TestCommittedImportSurvivesKill9(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCommittedImportSurvivesKill9$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var roots []cid.Cid
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if s, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			roots = append(roots, cid.MustParse(s))
			if len(roots) == 2 {
				break
			}
		}
	}
	// The child is still importing more data when it dies.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(roots) != 2 {
		t.Fatalf("child committed %d imports before dying, want 2", len(roots))
	}

	n := newTestNodeIn(t, dir)
	for i, c := range roots {
		size, err := n.DagSize(context.Background(), c)
		if err != nil {
			t.Fatalf("import %d lost blocks after kill -9: %v", i, err)
		}
		if size < 4<<20 {
			t.Errorf("import %d: dag size %d", i, size)
		}
	}
}

// crashChild imports two files, printing each root once committed, then
// keeps importing until it is killed.
func crashChild(dir string) {
	ctx := context.Background()
	n, err := New(ctx, Config{DataDir: dir, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Offline: true})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for i := uint64(0); ; i++ {
		im := n.NewImport(ProfileV1)
		c, _, err := im.AddFile(ctx, chachaReader(60+i, 4<<20+int64(i)))
		if err == nil {
			err = im.Commit(ctx)
		}
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("committed", c)
	}
}
