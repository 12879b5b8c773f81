package pinning

import (
	"context"
	"fmt"
	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// MaxOrigins is the most origins a pin request may name (the Pinning
// Service API's limit).
const MaxOrigins = 20

// ParseCID parses a CID, failing with ErrInvalidCID.
func ParseCID(v string) (cid.Cid, error) {
	if v == "" {
		return cid.Undef, fmt.Errorf("%w: cid is required", ErrInvalidCID)
	}
	c, err := cid.Decode(v)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: %q is not a valid CID", ErrInvalidCID, v)
	}
	return c, nil
}

// PinRequest is a pin-by-CID request, whichever dialect sent it.
type PinRequest struct {
	CID         string
	Name        string
	Description string
	Metadata    map[string]string
	// Origins are multiaddrs (with /p2p/) of peers that hold the DAG; the
	// node dials them before asking the network.
	Origins []string
	// Group is a group of the account the pin joins as it is recorded
	// ("": none).
	Group string
}

// check validates a request and returns its CID. Origins are checked by
// the node, which refuses what it would not dial (loopback, private and
// metadata addresses, unless the operator allows private peers).
func (s *Service) checkPin(req PinRequest) (cid.Cid, error) {
	c, err := ParseCID(req.CID)
	if err != nil {
		return cid.Undef, err
	}
	if err := checkLabel("name", req.Name, MaxNameLen); err != nil {
		return cid.Undef, err
	}
	if err := checkLabel("description", req.Description, MaxDescLen); err != nil {
		return cid.Undef, err
	}
	if err := checkMetadata(req.Metadata); err != nil {
		return cid.Undef, err
	}
	if len(req.Origins) > MaxOrigins {
		return cid.Undef, fmt.Errorf("%w: at most %d origins are allowed", ErrInvalid, MaxOrigins)
	}
	if err := s.node.ValidateOrigins(req.Origins); err != nil {
		return cid.Undef, err
	}
	return c, nil
}

// PinByCID records a pin-by-CID request for p's account and returns it. A
// DAG that is local already (an upload, an identity CID, another account's
// pin) is pinned at once; otherwise the request is queued for a fetch
// that ends pinned or failed, never stuck queued.
func (s *Service) PinByCID(ctx context.Context, p Principal, req PinRequest) (store.Pin, error) {
	if !p.Allows(token.ScopePinsWrite) {
		return store.Pin{}, fmt.Errorf("%w: %v lacks scope %q", token.ErrForbidden, p.Kind, token.ScopePinsWrite)
	}
	c, err := s.checkPin(req)
	if err != nil {
		return store.Pin{}, err
	}
	if s.fetch == nil {
		return store.Pin{}, fmt.Errorf("%w: pinning by CID is not available on this server", ErrUnavailable)
	}
	if err := s.checkWritable(); err != nil {
		return store.Pin{}, err
	}
	if err := s.checkGroup(p.AccountID, req.Group); err != nil {
		return store.Pin{}, err
	}
	pin := store.Pin{CID: c.String(), Name: req.Name, Description: req.Description, Metadata: req.Metadata, Origins: req.Origins,
		AccountID: p.AccountID, KeyID: p.IssuerKeyID, CredentialID: p.CredentialID, Prefix: p.Prefix}
	if req.Group != "" {
		pin.JoinGroups = []string{req.Group}
	}
	return s.fetch.submit(ctx, c, pin)
}

// ReplacePin records a new request in place of the request id: the new one
// is recorded before the old one is deleted, so blocks both share are live
// throughout and no GC can drop them in between.
func (s *Service) ReplacePin(ctx context.Context, p Principal, id string, req PinRequest) (store.Pin, error) {
	if _, err := s.store.Pin(p.AccountID, id); err != nil {
		return store.Pin{}, fmt.Errorf("pin %s: %w", id, err)
	}
	rec, err := s.PinByCID(ctx, p, req)
	if err != nil {
		return store.Pin{}, err
	}
	if err := s.DeletePin(ctx, p.AccountID, id); err != nil && !errIsNotFound(err) {
		return store.Pin{}, err
	}
	return rec, nil
}

// DeletePin removes one of an account's pin records and stops its fetch if
// one runs (freeing the account's fetch slot at once). The blocks stay
// until GC finds no pin referencing them.
func (s *Service) DeletePin(ctx context.Context, accountID, id string) error {
	p, err := s.store.DeletePin(accountID, id)
	if err != nil {
		return fmt.Errorf("delete pin: %w", err)
	}
	if s.fetch != nil {
		s.fetch.cancel(p.ID)
	}
	return nil
}

// UnpinCID removes every pin the account holds on c (cancelling their
// fetches) and returns how many there were; none is ErrNotFound.
func (s *Service) UnpinCID(ctx context.Context, accountID string, c cid.Cid) (int, error) {
	pins, err := s.store.PinsByCID(accountID, c.String())
	if err != nil {
		return 0, fmt.Errorf("unpin %s: %w", c, err)
	}
	if len(pins) == 0 {
		return 0, fmt.Errorf("%w: %s is not pinned by this account", ErrNotFound, c)
	}
	for _, p := range pins {
		if err := s.DeletePin(ctx, accountID, p.ID); err != nil && !errIsNotFound(err) {
			return 0, err
		}
	}
	return len(pins), nil
}

// Pin returns one of an account's pin records.
func (s *Service) Pin(ctx context.Context, accountID, id string) (store.Pin, error) {
	p, err := s.store.Pin(accountID, id)
	if err != nil {
		return store.Pin{}, fmt.Errorf("pin %s: %w", id, err)
	}
	return p, nil
}

// PinsOfCID returns the pins of c that p may see, oldest first: the
// account's, or for an upload-only credential only those it made itself.
func (s *Service) PinsOfCID(ctx context.Context, p Principal, c cid.Cid) ([]store.Pin, error) {
	pins, err := s.store.PinsByCID(p.AccountID, c.String())
	if err != nil {
		return nil, fmt.Errorf("pins of %s: %w", c, err)
	}
	if p.Allows(token.ScopePinsRead) {
		return pins, nil
	}
	own := pins[:0]
	for _, pin := range pins {
		if pin.CredentialID == p.CredentialID {
			own = append(own, pin)
		}
	}
	return own, nil
}

// ListPins lists an account's pins matching f, newest first, with the
// total that match.
func (s *Service) ListPins(ctx context.Context, accountID string, f store.PinFilter) ([]store.Pin, int, error) {
	pins, total, err := s.store.ListPins(accountID, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list pins: %w", err)
	}
	return pins, total, nil
}

// Usage reports an account's pins and stored bytes (each CID once), from
// counters the store keeps with every write.
func (s *Service) Usage(ctx context.Context, accountID string) (store.Usage, error) {
	u, err := s.store.AccountUsage(accountID)
	if err != nil {
		return store.Usage{}, fmt.Errorf("usage: %w", err)
	}
	return u, nil
}

// UpdatePin changes a pin's name, description or metadata (nil leaves each
// as it is); every index follows.
func (s *Service) UpdatePin(ctx context.Context, accountID, id string, name, description *string, metadata map[string]string) (store.Pin, error) {
	if name != nil {
		if err := checkLabel("name", *name, MaxNameLen); err != nil {
			return store.Pin{}, err
		}
	}
	if description != nil {
		if err := checkLabel("description", *description, MaxDescLen); err != nil {
			return store.Pin{}, err
		}
	}
	if err := checkMetadata(metadata); err != nil {
		return store.Pin{}, err
	}
	p, err := s.store.UpdatePin(accountID, id, func(p *store.Pin) error {
		if name != nil {
			p.Name = *name
		}
		if description != nil {
			p.Description = *description
		}
		if metadata != nil {
			p.Metadata = metadata
		}
		return nil
	})
	if err != nil {
		return store.Pin{}, fmt.Errorf("update pin: %w", err)
	}
	return p, nil
}
