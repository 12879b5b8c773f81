package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestParallelUploadsCannotPassThePinQuota(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	if err := s.SetQuota(a.ID, Quota{MaxPins: 25}); err != nil {
		t.Fatal(err)
	}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.AddPins([]Pin{{AccountID: a.ID, CID: fmt.Sprintf("bafy%d", i)}}, nil)
			var le *LimitError
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &le) && le.Limit == LimitPins && errors.Is(err, ErrLimit):
				refused.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 25 || refused.Load() != 75 {
		t.Fatalf("%d pins added, %d refused; want 25 and 75", ok.Load(), refused.Load())
	}
	if u, _ := s.AccountUsage(a.ID); u.Pins != 25 {
		t.Fatalf("usage %+v", u)
	}
}

func TestTheStorageQuotaCountsEachCIDOnce(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	s.SetQuota(a.ID, Quota{MaxStoredBytes: 100})
	add := func(cid string, size int64) error {
		_, err := s.AddPins([]Pin{{AccountID: a.ID, CID: cid, Size: size}}, nil)
		return err
	}
	for _, tc := range []struct {
		name      string
		cid       string
		size      int64
		wantLimit bool
	}{
		{"a first file fits", "bafya", 60, false},
		{"the same CID again adds nothing", "bafya", 60, false},
		{"a second CID that fits", "bafyb", 40, false},
		{"a third CID is over", "bafyc", 1, true},
		{"the first CID a third time still adds nothing", "bafya", 60, false},
	} {
		err := add(tc.cid, tc.size)
		var le *LimitError
		if got := errors.As(err, &le) && le.Limit == LimitStorage; got != tc.wantLimit || (err != nil && !got) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if u, _ := s.AccountUsage(a.ID); u != (Usage{Pins: 4, Pinned: 4, StoredBytes: 100}) {
		t.Errorf("usage %+v", u)
	}
}

func TestTheQueueQuotaRefusesPinByCIDRequests(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	s.SetQuota(a.ID, Quota{MaxQueued: 2})
	for i := range 3 {
		_, err := s.AddQueuedPin(Pin{AccountID: a.ID, CID: fmt.Sprintf("bafyq%d", i)})
		var le *LimitError
		if refused := errors.As(err, &le) && le.Limit == LimitQueued; refused != (i == 2) {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	// A finished request frees its place.
	q, _ := s.QueuedPins()
	if _, err := s.UpdateQueuedPin(q[0].ID, func(p *Pin) error { p.Status = StatusPinned; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddQueuedPin(Pin{AccountID: a.ID, CID: "bafyq9"}); err != nil {
		t.Fatalf("after one finished: %v", err)
	}
}

func TestEffectiveQuotasFallBackToTheDefault(t *testing.T) {
	s, err := Open(t.TempDir()+"/ninja.db", Options{NoSync: true, PruneInterval: -1,
		DefaultQuota: Quota{MaxStoredBytes: 1 << 30, MaxPins: 1000, MaxFetchBytes: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	a, _ := s.CreateAccount("a")
	for _, tc := range []struct {
		name     string
		override Quota
		want     Quota
	}{
		{"no override is the default, and no default is unlimited", Quota{},
			Quota{MaxStoredBytes: 1 << 30, MaxPins: 1000, MaxQueued: -1, MaxFetchBytes: 1 << 20}},
		{"an override wins where it is set", Quota{MaxPins: 5, MaxQueued: 2},
			Quota{MaxStoredBytes: 1 << 30, MaxPins: 5, MaxQueued: 2, MaxFetchBytes: 1 << 20}},
		{"-1 lifts a default", Quota{MaxStoredBytes: -1},
			Quota{MaxStoredBytes: -1, MaxPins: 1000, MaxQueued: -1, MaxFetchBytes: 1 << 20}},
	} {
		if err := s.SetQuota(a.ID, tc.override); err != nil {
			t.Fatal(err)
		}
		eff, over, err := s.Quota(a.ID)
		if err != nil || eff != tc.want || over != tc.override {
			t.Errorf("%s: effective %+v override %+v (%v)", tc.name, eff, over, err)
		}
	}
	if err := s.SetQuota(a.ID, Quota{MaxPins: -2}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a quota of -2: %v", err)
	}
	if _, _, err := s.Quota("acc_nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("quota of no account: %v", err)
	}
}

func TestAccountUsageCountsEachCIDOncePerAccountAndOnceForTheServer(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	b, _ := s.CreateAccount("b")
	pa, _ := s.AddPins([]Pin{{AccountID: a.ID, CID: "shared", Size: 10}, {AccountID: a.ID, CID: "shared", Size: 10}, {AccountID: a.ID, CID: "mine", Size: 5}}, nil)
	s.AddPins([]Pin{{AccountID: b.ID, CID: "shared", Size: 10}}, nil)
	s.AddQueuedPin(Pin{AccountID: b.ID, CID: "wanted"})
	for _, tc := range []struct {
		name, acct string
		want       Usage
	}{
		{"account a", a.ID, Usage{Pins: 3, Pinned: 3, StoredBytes: 15}},
		{"account b", b.ID, Usage{Pins: 2, Pinned: 1, Queued: 1, StoredBytes: 10}},
		{"the server", "", Usage{Pins: 5, Pinned: 4, Queued: 1, StoredBytes: 15}},
	} {
		if got, err := s.AccountUsage(tc.acct); err != nil || got != tc.want {
			t.Errorf("%s: %+v (%v), want %+v", tc.name, got, err, tc.want)
		}
	}
	s.DeletePin(a.ID, pa[0].ID)
	s.DeletePin(a.ID, pa[1].ID)
	if got, _ := s.AccountUsage(a.ID); got != (Usage{Pins: 1, Pinned: 1, StoredBytes: 5}) {
		t.Errorf("a after deleting both pins of shared: %+v", got)
	}
	if got, _ := s.AccountUsage(""); got.StoredBytes != 15 {
		t.Errorf("the server still stores shared for b: %+v", got)
	}
}
