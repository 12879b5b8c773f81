package node

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

func TestConcurrentImportsStayWithinTheBufferBudgetAndKeepTheirCIDs(t *testing.T) {
	const budget = 12 << 20 // three imports' minimum windows
	ctx := context.Background()
	ref := newTestNode(t)
	n := newTestNodeWith(t, Config{BufferBudget: budget})
	const imports, size = 8, 20<<20 + 12345
	want := make([]cid.Cid, imports)
	for i := range want {
		want[i] = addFile(t, ref, ProfileV1, chachaReader(uint64(300+i), size))
	}
	got := make([]cid.Cid, imports)
	var wg sync.WaitGroup
	for i := range imports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			profile := ProfileV1
			im := n.NewImport(profile)
			defer im.Release()
			c, _, err := im.AddFile(ctx, chachaReader(uint64(300+i), size))
			if err == nil {
				err = im.Commit(ctx)
			}
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		}()
	}
	wg.Wait()
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("import %d: cid %s under a tight budget, %s without", i, got[i], want[i])
		}
	}
	if peak := n.budget.peak.Load(); peak > budget {
		t.Errorf("imports held %d bytes at once, over the %d-byte budget", peak, budget)
	}
	if held := n.budget.held.Load(); held != 0 {
		t.Errorf("%d bytes still held after every import ended", held)
	}
}

func TestALoneImportGrowsPastItsMinimumWindow(t *testing.T) {
	n := newTestNode(t)
	addFile(t, n, ProfileV1, chachaReader(310, 64<<20))
	if peak := n.budget.peak.Load(); peak <= minWindow {
		t.Errorf("a lone 64 MiB import held at most %d bytes; want it to use more than the %d-byte minimum", peak, minWindow)
	}
}

func TestImportsOfEveryKindFinishUnderTheSmallestBudget(t *testing.T) {
	ctx := context.Background()
	n := newTestNodeWith(t, Config{BufferBudget: 1}) // means minWindow
	_, car := chainCAR(t, 300, 1)
	f := loadFixtures(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			im := n.NewImport(ProfileV0)
			defer im.Release()
			var err error
			switch i % 2 {
			case 0:
				_, err = im.AddCAR(ctx, bytesReader(car))
			case 1:
				var c cid.Cid
				c, _, err = im.AddFile(ctx, chachaReader(f.Files[len(f.Files)-1].Seed, f.Files[len(f.Files)-1].Size))
				if err == nil && c.String() != f.Files[len(f.Files)-1].V0 {
					t.Errorf("cid %s, want Kubo's %s", c, f.Files[len(f.Files)-1].V0)
				}
			}
			if err == nil {
				err = im.Commit(ctx)
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if peak := n.budget.peak.Load(); peak > minWindow {
		t.Errorf("held %d bytes, over the %d-byte budget", peak, minWindow)
	}
}

func TestAnImportWaitingForBufferSpaceStopsWithItsContext(t *testing.T) {
	n := newTestNodeWith(t, Config{BufferBudget: minWindow})
	// A holds the whole budget: it has read a first chunk and waits for more.
	pr, pw := io.Pipe()
	a := n.NewImport(ProfileV1)
	defer a.Abort()
	aDone := make(chan error, 1)
	go func() {
		_, _, err := a.AddFile(context.Background(), pr)
		aDone <- err
	}()
	if _, err := pw.Write(make([]byte, 1<<20)); err != nil { // returns once A has read it
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := n.NewImport(ProfileV1)
	defer b.Abort()
	bDone := make(chan error, 1)
	go func() {
		_, _, err := b.AddFile(ctx, chachaReader(311, 1<<20))
		bDone <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); n.budget.waiting.Load() == 0; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatal("the second import never waited for buffer space")
		}
	}
	cancel()
	select {
	case err := <-bDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an import waiting for buffer space ignored its context")
	}
	pw.Close()
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
}
