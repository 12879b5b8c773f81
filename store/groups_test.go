package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// groupMembers lists a group's pins through ListPins, with the total.
func groupMembers(t *testing.T, s *Store, acct, group string, statuses ...string) ([]string, int) {
	t.Helper()
	pins, total, err := s.ListPins(acct, PinFilter{Group: group, Status: statuses})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(pins))
	for i, p := range pins {
		ids[i] = p.ID
	}
	return ids, total
}

func TestGroupsListNewestFirstPagedAndFilteredByName(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	b, _ := s.CreateAccount("b")
	var made []string
	for _, name := range []string{"Photos 2025", "invoices", "photos 2026", "music", "Holiday PHOTOS"} {
		g, err := s.CreateGroup(Group{AccountID: a.ID, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, g.ID)
	}
	s.CreateGroup(Group{AccountID: b.ID, Name: "photos of b"})

	var got []string
	for p := (Page{Limit: 2}); ; {
		page, next, err := s.ListGroups(a.ID, GroupFilter{Page: p})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page {
			got = append(got, g.ID)
		}
		if next == "" {
			break
		}
		p.Cursor = next
	}
	want := slices.Clone(made)
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Fatalf("pages give %v, want every group of the account newest first %v", got, want)
	}
	page, next, err := s.ListGroups(a.ID, GroupFilter{Name: "photos", Page: Page{Limit: 2}})
	if err != nil || len(page) != 2 || page[0].Name != "Holiday PHOTOS" || page[1].Name != "photos 2026" || next == "" {
		t.Fatalf("first page of name photos: %v %q %v", page, next, err)
	}
	page, next, _ = s.ListGroups(a.ID, GroupFilter{Name: "photos", Page: Page{Limit: 2, Cursor: next}})
	if len(page) != 1 || page[0].Name != "Photos 2025" || next != "" {
		t.Fatalf("second page of name photos: %v %q", page, next)
	}
}

func TestAPinJoinsItsGroupsInTheWriteThatAddsIt(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	b, _ := s.CreateAccount("b")
	g1, _ := s.CreateGroup(Group{AccountID: a.ID, Name: "one"})
	g2, _ := s.CreateGroup(Group{AccountID: a.ID, Name: "two"})
	other, _ := s.CreateGroup(Group{AccountID: b.ID, Name: "b's"})

	pins, err := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafkqaaa", JoinGroups: []string{g1.ID, g2.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := s.AddQueuedPin(Pin{AccountID: a.ID, CID: "bafkqaab", JoinGroups: []string{g1.ID}})
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafkqaac"}}, nil)

	if ids, n := groupMembers(t, s, a.ID, g1.ID); n != 2 || !slices.Equal(ids, []string{q.ID, pins[0].ID}) {
		t.Fatalf("group one holds %v (total %d), want the queued pin and the upload", ids, n)
	}
	if ids, n := groupMembers(t, s, a.ID, g2.ID); n != 1 || ids[0] != pins[0].ID {
		t.Fatalf("group two holds %v (total %d)", ids, n)
	}
	groups, _ := s.PinGroups([]string{pins[0].ID, plain[0].ID})
	if !slices.Equal(groups[pins[0].ID], []string{g1.ID, g2.ID}) || groups[plain[0].ID] != nil {
		t.Fatalf("pin groups %v, want the upload in both groups in the order it joined them", groups)
	}
	ungrouped, n, _ := s.ListPins(a.ID, PinFilter{NoGroup: true})
	if n != 1 || ungrouped[0].ID != plain[0].ID {
		t.Fatalf("pins in no group: %v (total %d)", ungrouped, n)
	}

	// A group that does not exist, or is another account's, fails the
	// write, and nothing is recorded.
	for _, gid := range []string{"grp_missing", other.ID} {
		if _, err := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafkqaad", JoinGroups: []string{gid}}}, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("joining %s: %v, want ErrNotFound", gid, err)
		}
		if _, err := s.AddQueuedPin(Pin{AccountID: a.ID, CID: "bafkqaad", JoinGroups: []string{gid}}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("queueing into %s: %v, want ErrNotFound", gid, err)
		}
	}
	if found, _ := s.PinsByCID(a.ID, "bafkqaad"); len(found) != 0 {
		t.Fatalf("a refused write recorded %v", found)
	}
}

func TestAStatusChangeMovesThePinWithinItsGroups(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	g, _ := s.CreateGroup(Group{AccountID: a.ID, Name: "queue"})
	q, _ := s.AddQueuedPin(Pin{AccountID: a.ID, CID: "bafkqaaa", JoinGroups: []string{g.ID}})
	if _, n := groupMembers(t, s, a.ID, g.ID, StatusQueued); n != 1 {
		t.Fatalf("%d queued members, want the request", n)
	}
	if _, err := s.UpdateQueuedPin(q.ID, func(p *Pin) error { p.Status = StatusPinned; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, n := groupMembers(t, s, a.ID, g.ID, StatusQueued); n != 0 {
		t.Fatalf("%d queued members after it was pinned", n)
	}
	if ids, n := groupMembers(t, s, a.ID, g.ID, StatusPinned); n != 1 || ids[0] != q.ID {
		t.Fatalf("pinned members %v (%d), want the request now pinned", ids, n)
	}
	// Renaming it keeps it where it is.
	s.UpdatePin(a.ID, q.ID, func(p *Pin) error { p.Name = "renamed"; return nil })
	if _, n := groupMembers(t, s, a.ID, g.ID); n != 1 {
		t.Fatalf("%d members after a rename", n)
	}
}

func TestDeletingAPinDropsItsMemberships(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	g1, _ := s.CreateGroup(Group{AccountID: a.ID, Name: "one"})
	g2, _ := s.CreateGroup(Group{AccountID: a.ID, Name: "two"})
	pins, _ := s.AddPins([]Pin{
		{AccountID: a.ID, CID: "bafkqaaa", JoinGroups: []string{g1.ID, g2.ID}},
		{AccountID: a.ID, CID: "bafkqaab", JoinGroups: []string{g1.ID}},
	}, nil)
	if _, err := s.DeletePin(a.ID, pins[0].ID); err != nil {
		t.Fatal(err)
	}
	if ids, n := groupMembers(t, s, a.ID, g1.ID); n != 1 || ids[0] != pins[1].ID {
		t.Fatalf("group one holds %v (%d) after the delete", ids, n)
	}
	if _, n := groupMembers(t, s, a.ID, g2.ID); n != 0 {
		t.Fatalf("group two holds %d after its only pin went", n)
	}
	if groups, _ := s.PinGroups([]string{pins[0].ID}); len(groups) != 0 {
		t.Fatalf("the deleted pin is still in %v", groups)
	}
	// Adding, removing, adding again: the membership is a set.
	p := pins[1].ID
	for _, step := range []func() error{
		func() error { return s.AddToGroup(a.ID, g2.ID, p) },
		func() error { return s.AddToGroup(a.ID, g2.ID, p) },
		func() error { return s.RemoveFromGroup(a.ID, g1.ID, p) },
		func() error { return s.RemoveFromGroup(a.ID, g1.ID, p) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if groups, _ := s.PinGroups([]string{p}); !slices.Equal(groups[p], []string{g2.ID}) {
		t.Fatalf("groups %v, want only group two", groups[p])
	}
	if _, n := groupMembers(t, s, a.ID, g1.ID); n != 0 {
		t.Fatalf("group one holds %d after the pin left it", n)
	}
}

func TestGroupsAndTheirPinsBelongToOneAccount(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	b, _ := s.CreateAccount("b")
	ga, _ := s.CreateGroup(Group{AccountID: a.ID, Name: "a"})
	gb, _ := s.CreateGroup(Group{AccountID: b.ID, Name: "b"})
	pa, _ := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafkqaaa"}}, nil)
	pb, _ := s.AddPins([]Pin{{AccountID: b.ID, CID: "bafkqaaa"}}, nil)
	for name, err := range map[string]error{
		"another account's group":      s.AddToGroup(a.ID, gb.ID, pa[0].ID),
		"another account's pin":        s.AddToGroup(a.ID, ga.ID, pb[0].ID),
		"removal from another's group": s.RemoveFromGroup(a.ID, gb.ID, pa[0].ID),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	if _, err := s.Group(a.ID, gb.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("reading another account's group: %v", err)
	}
	if _, err := s.UpdateGroup(a.ID, gb.ID, func(g *Group) error { g.Name = "x"; return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("renaming another account's group: %v", err)
	}
	if _, err := s.DeleteGroup(a.ID, gb.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting another account's group: %v", err)
	}
	if g, err := s.Group(b.ID, gb.ID); err != nil || g.Name != "b" {
		t.Errorf("b's group after a's attempts: %v %v", g, err)
	}
}

func TestDeletingALargeGroupKeepsItsPins(t *testing.T) {
	s := openFast(t, nil)
	a, _ := s.CreateAccount("a")
	g, _ := s.CreateGroup(Group{AccountID: a.ID, Name: "big"})
	keep, _ := s.CreateGroup(Group{AccountID: a.ID, Name: "kept"})
	n := 2*groupDeleteChunk + 17 // more than one transaction's worth
	pins := make([]Pin, n)
	for i := range pins {
		pins[i] = Pin{AccountID: a.ID, CID: fmt.Sprintf("bafy%05d", i), JoinGroups: []string{g.ID}}
		if i%100 == 0 {
			pins[i].JoinGroups = append(pins[i].JoinGroups, keep.ID)
		}
	}
	if err := s.ImportPins(pins); err != nil {
		t.Fatal(err)
	}
	if _, total := groupMembers(t, s, a.ID, g.ID); total != n {
		t.Fatalf("the group holds %d of %d pins", total, n)
	}
	if _, err := s.DeleteGroup(a.ID, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Group(a.ID, g.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the group is still there: %v", err)
	}
	if _, total, _ := s.ListPins(a.ID, PinFilter{}); total != n {
		t.Fatalf("%d pins after deleting their group, want all %d", total, n)
	}
	if _, total := groupMembers(t, s, a.ID, g.ID); total != 0 {
		t.Fatalf("the deleted group still counts %d members", total)
	}
	if _, total := groupMembers(t, s, a.ID, keep.ID); total != (n+99)/100 {
		t.Fatalf("the other group holds %d, want %d", total, (n+99)/100)
	}
	groups, _ := s.PinGroups([]string{pins[0].ID, pins[1].ID})
	if !slices.Equal(groups[pins[0].ID], []string{keep.ID}) || groups[pins[1].ID] != nil {
		t.Fatalf("memberships after the delete: %v", groups)
	}
}

func TestASchema4DatabaseGainsGroupsOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ninja.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.CreateAccount("a")
	old, _ := s.AddPins([]Pin{{AccountID: a.ID, CID: "bafkqaaa", Name: "kept"}}, nil)
	s.Close(t.Context())
	// Back to schema 4 as the previous binary wrote it: no group buckets.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketGroups, bucketGroupsByAcct, bucketPinsByGroup, bucketPinGroups} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, u64(4))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	if v, _ := s.schemaVersion(); v != 8 || len(migrations) != 8 {
		t.Fatalf("schema %d after the open, %d migrations", v, len(migrations))
	}
	g, err := s.CreateGroup(Group{AccountID: a.ID, Name: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddToGroup(a.ID, g.ID, old[0].ID); err != nil {
		t.Fatalf("a pin from before the migration joins a group: %v", err)
	}
	if pins, n, _ := s.ListPins(a.ID, PinFilter{Group: g.ID}); n != 1 || pins[0].Name != "kept" {
		t.Fatalf("the group lists %v (%d)", pins, n)
	}
}

func TestAnAccountHasAtMostMaxGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("creates MaxGroups groups")
	}
	s := openFast(t, func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) })
	a, _ := s.CreateAccount("a")
	err := s.update(func(tx *bolt.Tx) error { // MaxGroups records in one transaction
		for i := range MaxGroups {
			g := Group{ID: fmt.Sprintf("grp_%05d", i), AccountID: a.ID, Created: time.Unix(0, int64(i+1))}
			if err := putRecordIndex(tx, bucketGroupsByAcct, a.ID, g.Created, g.ID); err != nil {
				return err
			}
			if err := putJSON(tx.Bucket(bucketGroups), []byte(g.ID), g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var le *LimitError
	if _, err := s.CreateGroup(Group{AccountID: a.ID, Name: "one too many"}); !errors.As(err, &le) || le.Limit != LimitGroups {
		t.Fatalf("group %d: %v, want a LimitError", MaxGroups+1, err)
	}
}
