package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Groups are named sets of an account's pins (Pinata's groups). A pin may
// be in several groups; a group holds pins of any status. The records and
// their indexes (schema 5):
//
//	groups/       id -> Group (JSON)
//	groupsbyacct/ lp(account) t(created) id -> nil
//	pinsbygroup/  lp(account) lp(group) status(1) t(pin created) pin-id -> nil
//	pingroups/    lp(pin-id) group-id -> seq(8), the order the pin joined its groups
//
// pinsbygroup/ is a pin index like the others (a count tree in pincounts/
// under tag 'g'), so ListPins with a Group filter pages and counts like a
// CID filter. pingroups/ is the other direction: what a pin write needs
// to move or drop the pin's entries (applyMemberships), and what a
// listing reads to show a pin's groups.

// Group limits: a listing with a name filter walks the account's groups,
// and a pin's memberships are read by every delete and status change, so
// both stay small.
const (
	MaxGroups        = 10_000 // groups per account
	MaxGroupsPerPin  = 64     // groups one pin may be in
	groupDeleteChunk = 1000   // memberships dropped per transaction
)

// LimitGroups is the LimitError of an account with MaxGroups groups.
const LimitGroups = "groups"

var idxGroup = timeIndex{bucket: bucketPinsByGroup, tag: 'g'}

// Group is a named set of an account's pins.
type Group struct {
	ID        string    `json:"id"`
	AccountID string    `json:"accountId"`
	Name      string    `json:"name"`
	Public    bool      `json:"public,omitempty"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated,omitzero"`
}

// GroupFilter selects groups in ListGroups.
type GroupFilter struct {
	// Name keeps groups whose name contains it, ignoring case; "" keeps all.
	Name string
	// Public, when set, keeps only groups that are (or are not) public.
	Public *bool
	Page   Page
}

// CreateGroup stores g for its account, assigning its ID and creation time.
// An account holds at most MaxGroups (a *LimitError, LimitGroups).
func (s *Store) CreateGroup(g Group) (Group, error) {
	g.ID = newID("grp_")
	g.Created = s.now().UTC()
	err := s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAccounts).Get([]byte(g.AccountID)) == nil {
			return fmt.Errorf("account %q: %w", g.AccountID, ErrNotFound)
		}
		if n := len(allIDs(tx, bucketGroupsByAcct, lp(nil, g.AccountID))); n >= MaxGroups {
			return &LimitError{Limit: LimitGroups, Max: MaxGroups, Used: int64(n)}
		}
		if err := putRecordIndex(tx, bucketGroupsByAcct, g.AccountID, g.Created, g.ID); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketGroups), []byte(g.ID), g)
	})
	if err != nil {
		return Group{}, fmt.Errorf("create group: %w", err)
	}
	return g, nil
}

// accountGroup reads one of an account's groups.
func accountGroup(tx *bolt.Tx, accountID, id string) (Group, error) {
	var g Group
	if err := getJSON(tx.Bucket(bucketGroups), []byte(id), &g); err != nil {
		return Group{}, err
	}
	if g.AccountID != accountID {
		return Group{}, ErrNotFound
	}
	return g, nil
}

// Group returns one of an account's groups.
func (s *Store) Group(accountID, id string) (Group, error) {
	var g Group
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		g, err = accountGroup(tx, accountID, id)
		return err
	})
	if err != nil {
		return Group{}, fmt.Errorf("group %s: %w", id, err)
	}
	return g, nil
}

// ListGroups returns a page of an account's groups matching f, newest
// first, and the cursor of the next page ("" at the end). The filters are
// checked on the records, so a listing walks at most the account's
// MaxGroups.
func (s *Store) ListGroups(accountID string, f GroupFilter) ([]Group, string, error) {
	limit, err := f.Page.limit()
	if err != nil {
		return nil, "", fmt.Errorf("list groups: %w", err)
	}
	prefix := lp(nil, accountID)
	from := append(bytes.Clone(prefix), 0xff)
	if f.Page.Cursor != "" {
		tail, err := decodeCursor(f.Page.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list groups: %w", err)
		}
		from = append(bytes.Clone(prefix), tail...)
	}
	name := strings.ToLower(f.Name)
	var out []Group
	next := ""
	err = s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketGroupsByAcct).Cursor()
		k, _ := c.Seek(from)
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		var last []byte
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) >= len(prefix)+8; k, _ = c.Prev() {
			if len(out) == limit {
				next = encodeCursor(last)
				return nil
			}
			last = bytes.Clone(k[len(prefix):])
			var g Group
			if err := getJSON(tx.Bucket(bucketGroups), k[len(prefix)+8:], &g); err != nil {
				if err == ErrNotFound {
					return fmt.Errorf("%w: index names group %s, which has no record", ErrCorrupt, k[len(prefix)+8:])
				}
				return err
			}
			if (name == "" || strings.Contains(strings.ToLower(g.Name), name)) && (f.Public == nil || *f.Public == g.Public) {
				out = append(out, g)
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list groups: %w", err)
	}
	return out, next, nil
}

// UpdateGroup edits one of an account's groups: fn may change its name and
// whether it is public, nothing else.
func (s *Store) UpdateGroup(accountID, id string, fn func(*Group) error) (Group, error) {
	var g Group
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if g, err = accountGroup(tx, accountID, id); err != nil {
			return err
		}
		before := g
		if err := fn(&g); err != nil {
			return err
		}
		if g.ID != before.ID || g.AccountID != before.AccountID || !g.Created.Equal(before.Created) {
			return fmt.Errorf("%w: a group's id, account and created time cannot change", ErrInvalid)
		}
		g.Updated = s.now().UTC()
		return putJSON(tx.Bucket(bucketGroups), []byte(g.ID), g)
	})
	if err != nil {
		return Group{}, fmt.Errorf("update group %s: %w", id, err)
	}
	return g, nil
}

// DeleteGroup deletes one of an account's groups; its pins stay, only
// their memberships go. A large group is emptied groupDeleteChunk
// memberships per transaction and its record goes with the last one, so a
// crash half way leaves a smaller group that the next DeleteGroup finishes.
func (s *Store) DeleteGroup(accountID, id string) (Group, error) {
	for {
		var g Group
		done := false
		err := s.write(func(tx *wtx) error {
			var err error
			if g, err = accountGroup(tx.Tx, accountID, id); err != nil {
				return err
			}
			n, err := s.dropMembers(tx, g, groupDeleteChunk)
			if err != nil || n == groupDeleteChunk {
				return err
			}
			done = true
			if err := delRecordIndex(tx.Tx, bucketGroupsByAcct, g.AccountID, g.Created, g.ID); err != nil {
				return err
			}
			return tx.Bucket(bucketGroups).Delete([]byte(g.ID))
		})
		if err != nil {
			return Group{}, fmt.Errorf("delete group %s: %w", id, err)
		}
		if done {
			return g, nil
		}
	}
}

// dropMembers removes up to limit of the group's memberships and returns
// how many it removed.
func (s *Store) dropMembers(tx *wtx, g Group, limit int) (int, error) {
	type member struct {
		st      byte
		created int64
		id      string
	}
	var members []member
	b := tx.Bucket(bucketPinsByGroup)
	for _, st := range allStatuses {
		group := fieldGroup(g.AccountID, g.ID, st)
		c := b.Cursor()
		for k, _ := c.Seek(group); k != nil && bytes.HasPrefix(k, group) && len(members) < limit; k, _ = c.Next() {
			if len(k) < len(group)+8 {
				continue
			}
			members = append(members, member{st, int64(binary.BigEndian.Uint64(k[len(group):])), string(k[len(group)+8:])})
		}
	}
	for _, m := range members {
		if err := idxGroup.del(tx, fieldGroup(g.AccountID, g.ID, m.st), m.created, m.id); err != nil {
			return 0, err
		}
		if err := tx.Bucket(bucketPinGroups).Delete(pinGroupKey(m.id, g.ID)); err != nil {
			return 0, err
		}
	}
	return len(members), nil
}

// AddToGroup puts one of an account's pins in one of its groups; a pin
// already in the group stays as it is. A pin is in at most MaxGroupsPerPin
// groups (ErrInvalid).
func (s *Store) AddToGroup(accountID, groupID, pinID string) error {
	err := s.write(func(tx *wtx) error {
		p, err := accountPin(tx.Tx, accountID, pinID)
		if err != nil {
			return err
		}
		if _, err := accountGroup(tx.Tx, accountID, groupID); err != nil {
			return fmt.Errorf("group %s: %w", groupID, err)
		}
		return s.join(tx, &p, groupID)
	})
	if err != nil {
		return fmt.Errorf("add pin %s to group %s: %w", pinID, groupID, err)
	}
	return nil
}

// RemoveFromGroup takes one of an account's pins out of one of its groups;
// a pin that is not in it is left as it is.
func (s *Store) RemoveFromGroup(accountID, groupID, pinID string) error {
	err := s.write(func(tx *wtx) error {
		p, err := accountPin(tx.Tx, accountID, pinID)
		if err != nil {
			return err
		}
		if _, err := accountGroup(tx.Tx, accountID, groupID); err != nil {
			return fmt.Errorf("group %s: %w", groupID, err)
		}
		key := pinGroupKey(p.ID, groupID)
		if tx.Bucket(bucketPinGroups).Get(key) == nil {
			return nil
		}
		if err := tx.Bucket(bucketPinGroups).Delete(key); err != nil {
			return err
		}
		return idxGroup.del(tx, fieldGroup(p.AccountID, groupID, statusCodes[p.Status]), p.Created.UnixNano(), p.ID)
	})
	if err != nil {
		return fmt.Errorf("remove pin %s from group %s: %w", pinID, groupID, err)
	}
	return nil
}

func accountPin(tx *bolt.Tx, accountID, id string) (Pin, error) {
	var p Pin
	if err := getJSON(tx.Bucket(bucketPins), []byte(id), &p); err != nil {
		return Pin{}, fmt.Errorf("pin %s: %w", id, err)
	}
	if p.AccountID != accountID {
		return Pin{}, fmt.Errorf("pin %s: %w", id, ErrNotFound)
	}
	return p, nil
}

// PinGroups returns the groups of each pin, in the order the pin joined
// them; a pin in no group has no entry.
func (s *Store) PinGroups(pinIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	err := s.view(func(tx *bolt.Tx) error {
		for _, id := range pinIDs {
			if ms := memberships(tx, id); len(ms) > 0 {
				groups := make([]string, len(ms))
				for i, m := range ms {
					groups[i] = m.group
				}
				out[id] = groups
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pin groups: %w", err)
	}
	return out, nil
}

// pinGroupKey is a membership's key in pingroups/: lp(pin-id) group-id.
func pinGroupKey(pinID, groupID string) []byte { return append(lp(nil, pinID), groupID...) }

type membership struct {
	group  string
	joined uint64 // pingroups/' sequence when the pin joined
}

// memberships reads a pin's groups from pingroups/, oldest membership
// first.
func memberships(tx *bolt.Tx, pinID string) []membership {
	prefix := lp(nil, pinID)
	var out []membership
	c := tx.Bucket(bucketPinGroups).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		m := membership{group: string(k[len(prefix):])}
		if len(v) == 8 {
			m.joined = binary.BigEndian.Uint64(v)
		}
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b membership) int { return cmp.Compare(a.joined, b.joined) })
	return out
}

// join puts p in the group (the caller has checked that the group is of
// p's account).
func (s *Store) join(tx *wtx, p *Pin, groupID string) error {
	b := tx.Bucket(bucketPinGroups)
	key := pinGroupKey(p.ID, groupID)
	if b.Get(key) != nil {
		return nil
	}
	if n := len(memberships(tx.Tx, p.ID)); n >= MaxGroupsPerPin {
		return fmt.Errorf("%w: pin %s is in %d groups already, the most a pin may be in", ErrInvalid, p.ID, n)
	}
	// The bucket's sequence orders a pin's memberships by when it joined
	// them, also within one transaction.
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	if err := b.Put(key, u64(seq)); err != nil {
		return err
	}
	return idxGroup.put(tx, fieldGroup(p.AccountID, groupID, statusCodes[p.Status]), p.Created.UnixNano(), p.ID, nil, false)
}

// applyMemberships keeps a pin's group entries in step with a pin write
// (applyPin): a new pin joins its JoinGroups, a deleted one leaves every
// group, and one whose status changed moves to the group entries of its
// new status. Other writes cost nothing.
func (s *Store) applyMemberships(tx *wtx, old, new *Pin) error {
	switch {
	case old == nil:
		for _, gid := range new.JoinGroups {
			if _, err := accountGroup(tx.Tx, new.AccountID, gid); err != nil {
				return fmt.Errorf("group %s: %w", gid, err)
			}
			if err := s.join(tx, new, gid); err != nil {
				return err
			}
		}
		return nil
	case new != nil && new.Status == old.Status:
		return nil
	}
	created := old.Created.UnixNano()
	for _, m := range memberships(tx.Tx, old.ID) {
		if err := idxGroup.del(tx, fieldGroup(old.AccountID, m.group, statusCodes[old.Status]), created, old.ID); err != nil {
			return err
		}
		if new != nil {
			if err := idxGroup.put(tx, fieldGroup(new.AccountID, m.group, statusCodes[new.Status]), created, new.ID, nil, false); err != nil {
				return err
			}
		} else if err := tx.Bucket(bucketPinGroups).Delete(pinGroupKey(old.ID, m.group)); err != nil {
			return err
		}
	}
	return nil
}
