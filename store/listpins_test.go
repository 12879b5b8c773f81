package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// openFast opens a store without fsync and without the background pruner.
func openFast(t testing.TB, now func() time.Time) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "ninja.db"), Options{Now: now, NoSync: true, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(t.Context()) })
	return s
}

// randomPins imports n pins with a few values of every indexed field, some
// created in the same microsecond, and returns them.
func randomPins(t testing.TB, s *Store, acct string, n int, rng *rand.Rand) []Pin {
	t.Helper()
	statuses := []string{StatusPinned, StatusPinned, StatusPinned, StatusQueued, StatusPinning, StatusFailed}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pins := make([]Pin, n)
	for i := range pins {
		if rng.IntN(4) == 0 {
			at = at.Add(time.Duration(rng.IntN(1000)))
		} else {
			at = at.Add(time.Duration(rng.Int64N(int64(time.Hour))))
		}
		p := Pin{AccountID: acct, CID: fmt.Sprintf("bafy%02d", rng.IntN(30)), Status: statuses[rng.IntN(len(statuses))],
			Created: at, Size: int64(rng.IntN(1000))}
		if rng.IntN(3) > 0 {
			p.Name = []string{"Photo.png", "photo.PNG", "notes.txt", "Résumé.pdf", "a", "photo"}[rng.IntN(6)]
		}
		if rng.IntN(2) == 0 {
			p.MimeType = []string{"image/png", "text/plain"}[rng.IntN(2)]
		}
		if rng.IntN(2) == 0 {
			p.CredentialID = fmt.Sprintf("tok_%d", rng.IntN(3))
		}
		if rng.IntN(2) == 0 {
			p.Metadata = map[string]string{"album": []string{"summer", "winter", ""}[rng.IntN(3)]}
			if rng.IntN(2) == 0 {
				p.Metadata["n"] = fmt.Sprint(rng.IntN(3))
			}
		}
		pins[i] = p
	}
	if err := s.ImportPins(pins); err != nil {
		t.Fatal(err)
	}
	return pins
}

// bruteForce answers f the schema-3 way: every pin, newest first, matched
// one by one.
func bruteForce(pins []Pin, f PinFilter) ([]string, int) {
	sorted := slices.Clone(pins)
	slices.SortFunc(sorted, func(a, b Pin) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if !f.Ascending {
		slices.Reverse(sorted)
	}
	var ids []string
	total, offset := 0, f.Offset
	for _, p := range sorted {
		if !matchesFilter(&p, f) {
			continue
		}
		total++
		if offset > 0 {
			offset--
			continue
		}
		if f.Limit == 0 || len(ids) < f.Limit {
			ids = append(ids, p.ID)
		}
	}
	return ids, total
}

func matchesFilter(p *Pin, f PinFilter) bool {
	switch {
	case len(f.CIDs) > 0 && !slices.Contains(f.CIDs, p.CID),
		len(f.Status) > 0 && !slices.Contains(f.Status, p.Status),
		!f.Before.IsZero() && !p.Created.Before(f.Before),
		!f.After.IsZero() && !p.Created.After(f.After),
		f.MimeType != "" && p.MimeType != f.MimeType,
		f.CredentialID != "" && p.CredentialID != f.CredentialID:
		return false
	}
	if f.Name != "" {
		ok := false
		switch f.Match {
		case "iexact":
			ok = strings.EqualFold(p.Name, f.Name)
		case "partial":
			ok = strings.Contains(p.Name, f.Name)
		case "ipartial":
			ok = strings.Contains(strings.ToLower(p.Name), strings.ToLower(f.Name))
		default:
			ok = p.Name == f.Name
		}
		if !ok {
			return false
		}
	}
	for k, v := range f.Meta {
		if p.Metadata[k] != v {
			return false
		}
	}
	return true
}

// randomFilter combines zero to four predicates with time bounds and
// paging.
func randomFilter(rng *rand.Rand, pins []Pin) PinFilter {
	var f PinFilter
	pick := func() Pin { return pins[rng.IntN(len(pins))] }
	for range rng.IntN(5) {
		switch rng.IntN(8) {
		case 0:
			f.CIDs = append(f.CIDs, pick().CID, fmt.Sprintf("bafy%02d", rng.IntN(30)))
		case 1:
			f.Status = append(f.Status, []string{StatusPinned, StatusQueued, StatusPinning, StatusFailed, "bogus"}[rng.IntN(5)])
		case 2:
			f.Name = []string{"Photo.png", "photo", "PHOTO", "é", "txt", "zzz"}[rng.IntN(6)]
			f.Match = []string{"", "exact", "iexact", "partial", "ipartial"}[rng.IntN(5)]
		case 3:
			f.Meta = map[string]string{"album": []string{"summer", "winter", ""}[rng.IntN(3)]}
		case 4:
			f.MimeType = []string{"image/png", "text/plain"}[rng.IntN(2)]
		case 5:
			f.CredentialID = fmt.Sprintf("tok_%d", rng.IntN(3))
		case 6:
			f.Before = pick().Created.Add(time.Duration(rng.IntN(3) - 1))
		case 7:
			f.After = pick().Created.Add(time.Duration(rng.IntN(3) - 1))
		}
	}
	f.Ascending = rng.IntN(3) == 0
	f.Limit = []int{0, 1, 10, 100}[rng.IntN(4)]
	if rng.IntN(4) == 0 {
		f.Offset = rng.IntN(50)
	}
	return f
}

func TestListPinsAgreesWithMatchingEveryPinWhateverTheFilter(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	b, _ := s.CreateAccount("b")
	rng := rand.New(rand.NewPCG(7, 8))
	pins := randomPins(t, s, a.ID, 3000, rng)
	randomPins(t, s, b.ID, 500, rng) // another account's pins are never seen
	for i := range 1500 {
		f := randomFilter(rng, pins)
		got, total, err := s.ListPins(a.ID, f)
		if err != nil {
			t.Fatalf("filter %d %+v: %v", i, f, err)
		}
		wantIDs, wantTotal := bruteForce(pins, f)
		gotIDs := make([]string, len(got))
		for j, p := range got {
			gotIDs[j] = p.ID
		}
		if total != wantTotal || !slices.Equal(gotIDs, wantIDs) {
			t.Fatalf("filter %d %+v:\n total %d, want %d\n page of %d %.5v\n want %d %.5v", i, f, total, wantTotal, len(gotIDs), gotIDs, len(wantIDs), wantIDs)
		}
	}
}

func TestListPinsCountIsExactUnderABeforeCursor(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	pins := randomPins(t, s, a.ID, 2000, rand.New(rand.NewPCG(1, 1)))
	for _, tc := range []struct {
		name string
		f    PinFilter
	}{
		{"every pin", PinFilter{}},
		{"pinned, as the Pinning Service API lists by default", PinFilter{Status: []string{StatusPinned}}},
		{"one CID", PinFilter{CIDs: []string{"bafy07"}, Status: []string{StatusPinned}}},
		{"an exact name", PinFilter{Name: "notes.txt", Status: []string{StatusPinned}}},
		{"a partial name", PinFilter{Name: "PHOTO", Match: "ipartial", Status: []string{StatusPinned}}},
		{"a metadata pair", PinFilter{Meta: map[string]string{"album": "summer"}}},
		{"a MIME type and a credential", PinFilter{MimeType: "image/png", CredentialID: "tok_1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Page as boxo's client does: before = the last created, until
			// a page holds count results.
			f := tc.f
			f.Limit = 37
			_, want := bruteForce(pins, tc.f)
			seen := 0
			for {
				page, total, err := s.ListPins(a.ID, f)
				if err != nil {
					t.Fatal(err)
				}
				if _, exact := bruteForce(pins, f); total != exact {
					t.Fatalf("count %d under before=%v, want %d", total, f.Before, exact)
				}
				seen += len(page)
				if total == len(page) {
					break
				}
				f.Before = page[len(page)-1].Created
			}
			if seen != want {
				t.Fatalf("paged %d pins, want %d", seen, want)
			}
		})
	}
}

func TestUpdatePinKeepsEveryIndexAndCounter(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	p, err := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafyone", Name: "old.txt", Size: 10, Metadata: map[string]string{"k": "v"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.UpdatePin(a.ID, p[0].ID, func(p *Pin) error {
		p.Name, p.Description = "new.txt", "renamed"
		p.Metadata["k"] = "w"
		p.Metadata["extra"] = "x"
		return nil
	})
	if err != nil || got.Name != "new.txt" || got.Updated.IsZero() {
		t.Fatalf("update: %+v %v", got, err)
	}
	for _, tc := range []struct {
		f    PinFilter
		want int
	}{
		{PinFilter{Name: "old.txt"}, 0},
		{PinFilter{Name: "new.txt"}, 1},
		{PinFilter{Meta: map[string]string{"k": "v"}}, 0},
		{PinFilter{Meta: map[string]string{"k": "w", "extra": "x"}}, 1},
		{PinFilter{Name: "NEW", Match: "ipartial"}, 1},
	} {
		if _, n, _ := s.ListPins(a.ID, tc.f); n != tc.want {
			t.Errorf("%+v: %d, want %d", tc.f, n, tc.want)
		}
	}
	if u, _ := s.AccountUsage(a.ID); u != (Usage{Pins: 1, Pinned: 1, StoredBytes: 10}) {
		t.Errorf("usage %+v after an edit", u)
	}
	for _, change := range []func(*Pin){
		func(p *Pin) { p.CID = "bafyother" },
		func(p *Pin) { p.AccountID = "acc_other" },
		func(p *Pin) { p.Created = p.Created.Add(time.Second) },
		func(p *Pin) { p.ID = "pin_other" },
	} {
		_, err := s.UpdatePin(a.ID, p[0].ID, func(p *Pin) error { change(p); return nil })
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("an identity change: %v, want ErrInvalid", err)
		}
	}
	if _, err := s.UpdatePin("acc_other", p[0].ID, func(*Pin) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account's update: %v, want ErrNotFound", err)
	}
}

func TestOffsetPagingIsCapped(t *testing.T) {
	s := openFast(t, nil)
	_, _, err := s.ListPins("acc", PinFilter{Offset: MaxPinOffset + 1})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("offset past the cap: %v, want ErrInvalid", err)
	}
}

func TestImportPinsKeepsIDsAndTimesAndKeepsCreatedUnique(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	at := time.Date(2025, 5, 5, 5, 5, 5, 0, time.UTC)
	pins := []Pin{
		{ID: "pin_restored00001", AccountID: a.ID, CID: "bafyr1", Created: at},
		{AccountID: a.ID, CID: "bafyr2", Created: at}, // the same instant: moved on by 1 ns
		{AccountID: a.ID, CID: "bafyr3", Status: StatusFailed},
	}
	if err := s.ImportPins(pins); err != nil {
		t.Fatal(err)
	}
	if pins[0].ID != "pin_restored00001" || !pins[0].Created.Equal(at) || !pins[1].Created.Equal(at.Add(1)) || pins[1].ID == "" {
		t.Fatalf("imported %+v", pins[:2])
	}
	if pins[2].Created.IsZero() || pins[2].Status != StatusFailed {
		t.Fatalf("a pin without a time: %+v", pins[2])
	}
	if _, n, _ := s.ListPins(a.ID, PinFilter{Before: at.Add(2)}); n != 2 {
		t.Fatalf("%d pins before the import's times, want 2", n)
	}
	if u, _ := s.AccountUsage(a.ID); u.Pins != 3 || u.Pinned != 2 {
		t.Fatalf("usage %+v", u)
	}
	if err := s.ImportPins([]Pin{{ID: "pin_restored00001", AccountID: a.ID, CID: "x"}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("importing an existing id: %v", err)
	}
	// A new pin after a restore still gets a time after every other.
	p, _ := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafynew"}}, nil)
	if got, _, _ := s.ListPins(a.ID, PinFilter{Limit: 1}); got[0].ID != p[0].ID {
		t.Fatalf("newest is %s, want the new pin", got[0].ID)
	}
}
