package pinning

import (
	"context"
	"fmt"
	"maps"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/store"
)

// PinEdit changes what describes a pin, the way Pinata's metadata updates
// do: the name is replaced, metadata keys are merged in (Set) or removed
// (Remove), every other key stays. Nil and empty fields change nothing.
type PinEdit struct {
	Name   *string
	Set    map[string]string
	Remove []string
}

func (e PinEdit) check() error {
	if e.Name != nil {
		if err := checkLabel("name", *e.Name, MaxNameLen); err != nil {
			return err
		}
	}
	return checkMetadata(e.Set)
}

// apply edits p, refusing metadata that ends up past the limits.
func (e PinEdit) apply(p *store.Pin) error {
	if e.Name != nil {
		p.Name = *e.Name
	}
	if len(e.Set) == 0 && len(e.Remove) == 0 {
		return nil
	}
	md := maps.Clone(p.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	maps.Copy(md, e.Set)
	for _, k := range e.Remove {
		delete(md, k)
	}
	if err := checkMetadata(md); err != nil {
		return err
	}
	if len(md) == 0 {
		md = nil
	}
	p.Metadata = md
	return nil
}

// EditPin applies e to one of the account's pins; every index follows.
func (s *Service) EditPin(ctx context.Context, accountID, id string, e PinEdit) (store.Pin, error) {
	if err := e.check(); err != nil {
		return store.Pin{}, err
	}
	p, err := s.store.UpdatePin(accountID, id, e.apply)
	if err != nil {
		return store.Pin{}, fmt.Errorf("edit pin: %w", err)
	}
	return p, nil
}

// EditPinsOfCID applies e to every pin the account holds on c (Pinata's
// legacy API names a pin by its CID) and returns them; none is
// ErrNotFound. Each pin is its own write.
func (s *Service) EditPinsOfCID(ctx context.Context, accountID string, c cid.Cid, e PinEdit) ([]store.Pin, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	pins, err := s.store.PinsByCID(accountID, c.String())
	if err != nil {
		return nil, fmt.Errorf("edit pins of %s: %w", c, err)
	}
	if len(pins) == 0 {
		return nil, fmt.Errorf("%w: %s is not pinned by this account", ErrNotFound, c)
	}
	out := make([]store.Pin, 0, len(pins))
	for _, p := range pins {
		edited, err := s.store.UpdatePin(accountID, p.ID, e.apply)
		if errIsNotFound(err) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("edit pins of %s: %w", c, err)
		}
		out = append(out, edited)
	}
	return out, nil
}
