package pinning

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ninja-ipfs/ninja/store"
)

// Groups are named sets of an account's pins (Pinata's groups). A pin may
// be in several groups; deleting a pin takes it out of every group, and
// deleting a group leaves its pins. An upload or a pin by CID may join a
// group as it is recorded (Describe.Group, PinRequest.Group), in the same
// commit, so a pin is never recorded without the group it asked for.

// CreateGroup creates a group in the account.
func (s *Service) CreateGroup(ctx context.Context, accountID, name string, public bool) (store.Group, error) {
	if err := checkGroupName(name); err != nil {
		return store.Group{}, err
	}
	g, err := s.store.CreateGroup(store.Group{AccountID: accountID, Name: name, Public: public})
	if err != nil {
		return store.Group{}, limitErr(fmt.Errorf("create group: %w", err))
	}
	return g, nil
}

func checkGroupName(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: a group needs a name", ErrInvalid)
	}
	return checkLabel("name", name, MaxNameLen)
}

// Group returns one of the account's groups.
func (s *Service) Group(ctx context.Context, accountID, id string) (store.Group, error) {
	g, err := s.store.Group(accountID, id)
	if err != nil {
		return store.Group{}, groupErr(id, err)
	}
	return g, nil
}

// groupErr says which group was not found, for the client.
func groupErr(id string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: no group %q in this account", ErrNotFound, id)
	}
	return err
}

// Groups lists a page of the account's groups matching f, newest first,
// and the next page's cursor.
func (s *Service) Groups(ctx context.Context, accountID string, f store.GroupFilter) ([]store.Group, string, error) {
	return s.store.ListGroups(accountID, f)
}

// UpdateGroup renames a group or makes it public or not (nil leaves each
// as it is).
func (s *Service) UpdateGroup(ctx context.Context, accountID, id string, name *string, public *bool) (store.Group, error) {
	if name != nil {
		if err := checkGroupName(*name); err != nil {
			return store.Group{}, err
		}
	}
	g, err := s.store.UpdateGroup(accountID, id, func(g *store.Group) error {
		if name != nil {
			g.Name = *name
		}
		if public != nil {
			g.Public = *public
		}
		return nil
	})
	if err != nil {
		return store.Group{}, groupErr(id, err)
	}
	return g, nil
}

// DeleteGroup deletes one of the account's groups; its pins stay.
func (s *Service) DeleteGroup(ctx context.Context, accountID, id string) error {
	if _, err := s.store.DeleteGroup(accountID, id); err != nil {
		return groupErr(id, err)
	}
	return nil
}

// AddToGroup puts one of the account's pins in one of its groups (again
// is fine).
func (s *Service) AddToGroup(ctx context.Context, accountID, groupID, pinID string) error {
	if err := s.store.AddToGroup(accountID, groupID, pinID); err != nil {
		return membershipErr(groupID, pinID, err)
	}
	return nil
}

// RemoveFromGroup takes one of the account's pins out of one of its
// groups (a pin not in it is fine).
func (s *Service) RemoveFromGroup(ctx context.Context, accountID, groupID, pinID string) error {
	if err := s.store.RemoveFromGroup(accountID, groupID, pinID); err != nil {
		return membershipErr(groupID, pinID, err)
	}
	return nil
}

func membershipErr(groupID, pinID string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: no group %q or no pin %q in this account", ErrNotFound, groupID, pinID)
	}
	return err
}

// checkGroup refuses a group the account does not have, before an upload
// or a pin request is recorded into it (the store checks again in the
// write itself).
func (s *Service) checkGroup(accountID, id string) error {
	if id == "" {
		return nil
	}
	if _, err := s.store.Group(accountID, id); err != nil {
		return groupErr(id, err)
	}
	return nil
}

// PinPage is a page of pins with the groups each pin is in.
type PinPage struct {
	Pins  []store.Pin
	Total int // every pin the filter matches
	// Groups holds each listed pin's groups in the order it joined them;
	// a pin in no group has no entry.
	Groups map[string][]string
}

// ListPinsWithGroups is ListPins with each pin's groups.
func (s *Service) ListPinsWithGroups(ctx context.Context, accountID string, f store.PinFilter) (PinPage, error) {
	pins, total, err := s.ListPins(ctx, accountID, f)
	if err != nil {
		return PinPage{}, err
	}
	ids := make([]string, len(pins))
	for i, p := range pins {
		ids[i] = p.ID
	}
	groups, err := s.store.PinGroups(ids)
	if err != nil {
		return PinPage{}, fmt.Errorf("list pins: %w", err)
	}
	return PinPage{Pins: pins, Total: total, Groups: groups}, nil
}

// PinWithGroups is Pin with the pin's groups.
func (s *Service) PinWithGroups(ctx context.Context, accountID, id string) (store.Pin, []string, error) {
	p, err := s.Pin(ctx, accountID, id)
	if err != nil {
		return store.Pin{}, nil, err
	}
	groups, err := s.store.PinGroups([]string{id})
	if err != nil {
		return store.Pin{}, nil, fmt.Errorf("pin %s: %w", id, err)
	}
	return p, groups[id], nil
}
