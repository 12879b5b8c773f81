package pinning

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// IPNS names. An account creates named keys; ninja keeps each key (in the
// store, with the name's record) and signs the records published to it.
// A name may also be registered without a key ("external": its owner
// keeps the key and PUTs records it signed itself to the delegated
// routing endpoint); either way the server only ever holds, serves and
// republishes records of names some account registered, so it is not a
// free record host for the world.
//
// Records are served by the gateway (/ipns/{name}, ?format=ipns-record),
// by the delegated routing API (/routing/v1/ipns/{name}), put to the DHT
// when the node is online, and republished before they expire
// (runRepublisher).

// Name lifetimes: how long a record is valid when the publisher does not
// say, and the bounds of what they may say. 48 hours is Kubo's default;
// republishing extends a record long before it ends.
const (
	DefaultNameLifetime = 48 * time.Hour
	// MinNameLifetime is two republishing rounds: a shorter record could
	// end before the round that would re-sign it.
	MinNameLifetime = 2 * republishInterval
	MaxNameLifetime = 30 * 24 * time.Hour
	// DefaultNameTTL is how long a resolver may cache the record: short,
	// so that a browser that moves a name sees it moved soon.
	DefaultNameTTL = 5 * time.Minute
	MaxNameTTL     = 24 * time.Hour
)

// republishing: every republishInterval the published names are checked;
// a record is re-signed (same value and sequence, a new end of life) when
// less than half its lifetime, or a day, is left, and put to the DHT
// again every dhtRepublish (the DHT's peers drop records after 48 hours,
// so Kubo re-puts every 4).
const (
	republishInterval = 30 * time.Minute
	dhtRepublish      = 4 * time.Hour
	republishBatch    = 1000
)

// PublishSpec is what POST /names/{name} asks for.
type PublishSpec struct {
	// Value is /ipfs/{cid}[/path], /ipns/{name}[/path] or a bare CID.
	Value string
	// Sequence, if set, must be greater than the name's current one; nil
	// means the next one.
	Sequence *uint64
	// Lifetime is how long the record is valid; 0 means
	// DefaultNameLifetime.
	Lifetime time.Duration
	// TTL is how long resolvers may cache it; 0 means DefaultNameTTL.
	TTL time.Duration
}

// CreateName makes a new IPNS name in the account, with label as the
// account's name for it. With external (a k51… name) the key stays with
// its owner: ninja keeps the records its owner PUTs to the delegated
// routing endpoint, and cannot publish to it itself.
func (s *Service) CreateName(ctx context.Context, accountID, label, external string) (store.Name, error) {
	if err := checkNameLabel(label); err != nil {
		return store.Name{}, err
	}
	n := store.Name{AccountID: accountID, Label: label}
	if external != "" {
		name, err := node.ParseName(external)
		if err != nil {
			return store.Name{}, fmt.Errorf("%w: ipnsName %q is not an IPNS name", ErrInvalid, external)
		}
		n.Name = name
	} else {
		key, name, err := node.NewNameKey()
		if err != nil {
			return store.Name{}, err
		}
		n.Name, n.Key = name, key
	}
	out, err := s.store.CreateName(n)
	if err != nil {
		if errors.Is(err, store.ErrConflict) && external != "" {
			return store.Name{}, fmt.Errorf("%w: %s is registered on this server already, or the account has a name %q", ErrConflict, n.Name, label)
		}
		return store.Name{}, limitErr(err)
	}
	return out, nil
}

// checkNameLabel refuses a label that could not appear as one path
// segment, or that reads as an IPNS name (then /names/{name} would be
// ambiguous).
func checkNameLabel(label string) error {
	switch {
	case strings.TrimSpace(label) == "":
		return fmt.Errorf("%w: a name needs a label (\"name\")", ErrInvalid)
	case strings.ContainsAny(label, "/?#\x00") || label != strings.TrimSpace(label):
		return fmt.Errorf("%w: name %q may not contain /, ?, # or surrounding spaces", ErrInvalid, label)
	}
	if _, err := node.ParseName(label); err == nil {
		return fmt.Errorf("%w: name %q reads as an IPNS name; choose a label", ErrInvalid, label)
	}
	return checkLabel("name", label, MaxNameLen)
}

// Name returns one of the account's names, by label or IPNS name.
func (s *Service) Name(ctx context.Context, accountID, labelOrName string) (store.Name, error) {
	n, err := s.store.NameOf(accountID, canonicalName(labelOrName))
	if err != nil {
		return store.Name{}, nameErr(labelOrName, err)
	}
	return n, nil
}

// canonicalName turns an IPNS name in any form into the stored one and
// leaves a label as it is.
func canonicalName(s string) string {
	if n, err := node.ParseName(s); err == nil {
		return n
	}
	return s
}

func nameErr(name string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: no name %q in this account", ErrNotFound, name)
	}
	return err
}

// Names lists a page of the account's names, newest first.
func (s *Service) Names(ctx context.Context, accountID string, p store.Page) ([]store.Name, string, error) {
	return s.store.ListNames(accountID, p)
}

// DeleteName deletes one of the account's names with its key: its
// record is no longer served or republished here.
func (s *Service) DeleteName(ctx context.Context, accountID, labelOrName string) (store.Name, error) {
	n, err := s.store.DeleteName(accountID, canonicalName(labelOrName))
	if err != nil {
		return store.Name{}, nameErr(labelOrName, err)
	}
	s.names.forget(n.Name)
	return n, nil
}

// publishNameOf resolves a publishName asked for a credential to the
// account's name; "" stays "".
func (s *Service) publishNameOf(accountID, labelOrName string) (string, error) {
	if labelOrName == "" {
		return "", nil
	}
	n, err := s.store.NameOf(accountID, canonicalName(labelOrName))
	if err != nil {
		return "", fmt.Errorf("publishName: %w", nameErr(labelOrName, err))
	}
	return n.Name, nil
}

// Publish signs a record pointing the account's name at spec.Value and
// makes it the name's record, if g may publish to it (scope names, or a
// credential bound to this name). A name of another account is
// ErrNotFound, a credential without the right ErrForbidden, a sequence
// not above the current one ErrConflict, a value that is not a path or
// whose CID is not stored here ErrInvalid; on every refusal nothing
// changes. The record is put to the DHT in the background.
func (s *Service) Publish(ctx context.Context, g token.Grant, labelOrName string, spec PublishSpec) (store.Name, error) {
	cur, err := s.store.NameOf(g.AccountID, canonicalName(labelOrName))
	if err != nil {
		return store.Name{}, nameErr(labelOrName, err)
	}
	if err := g.CheckPublish(cur.Name); err != nil {
		return store.Name{}, err
	}
	if len(cur.Key) == 0 {
		return store.Name{}, fmt.Errorf("%w: %s is an external name: its owner holds the key and PUTs signed records to /routing/v1/ipns/%s", ErrConflict, cur.Name, cur.Name)
	}
	switch {
	case spec.Lifetime == 0:
		spec.Lifetime = DefaultNameLifetime
	case spec.Lifetime < MinNameLifetime || spec.Lifetime > MaxNameLifetime:
		return store.Name{}, fmt.Errorf("%w: lifetime must be between %v and %v", ErrInvalid, MinNameLifetime, MaxNameLifetime)
	}
	switch {
	case spec.TTL == 0:
		spec.TTL = DefaultNameTTL
	case spec.TTL < 0 || spec.TTL > MaxNameTTL:
		return store.Name{}, fmt.Errorf("%w: ttl must be between 0 and %v", ErrInvalid, MaxNameTTL)
	}
	value, root, err := node.ParseValue(spec.Value)
	if err != nil {
		return store.Name{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if root.Defined() {
		if has, err := s.node.Has(ctx, root); err != nil {
			return store.Name{}, fmt.Errorf("publish: %w", err)
		} else if !has {
			return store.Name{}, fmt.Errorf("%w: %s is not stored on this server; upload or pin it first", ErrInvalid, root)
		}
	}
	now := s.now()
	n, err := s.store.UpdateName(g.AccountID, cur.Name, func(n *store.Name) error {
		seq := uint64(0)
		if len(n.Record) > 0 {
			seq = n.Sequence + 1
		}
		if spec.Sequence != nil {
			if len(n.Record) > 0 && *spec.Sequence <= n.Sequence {
				return fmt.Errorf("%w: sequence %d is not greater than the name's current sequence %d", ErrConflict, *spec.Sequence, n.Sequence)
			}
			seq = *spec.Sequence
		}
		validity := now.Add(spec.Lifetime).UTC()
		rec, err := node.SignRecord(n.Key, value, seq, validity, spec.TTL)
		if err != nil {
			return err
		}
		n.Record, n.Value, n.Sequence, n.Validity = rec, value, seq, validity
		n.TTL, n.Lifetime, n.Published, n.External = int64(spec.TTL), int64(spec.Lifetime), now.UTC(), false
		return nil
	})
	if err != nil {
		return store.Name{}, nameErr(labelOrName, err)
	}
	s.putToDHT(n)
	return n, nil
}

// IPNSRecord returns the record of a name held here (any account), for
// the gateway and delegated routing; a name not held here, or not yet
// published, is ErrNotFound: the server never looks names up elsewhere.
func (s *Service) IPNSRecord(ctx context.Context, name string) ([]byte, error) {
	n, err := s.store.NameOf("", canonicalName(name))
	if err != nil {
		return nil, fmt.Errorf("%w: this server holds no name %s", ErrNotFound, name)
	}
	if len(n.Record) == 0 {
		return nil, fmt.Errorf("%w: %s has no record yet", ErrNotFound, name)
	}
	return n.Record, nil
}

// PutIPNSRecord takes a record PUT to the delegated routing endpoint. It
// is accepted only for a name some account registered here (else
// ErrNotFound: this is not a public record store), only validly signed by
// the name's key and unexpired (node.ErrBadRecord, node.ErrRecordExpired)
// and only with a sequence above the current record's (ErrConflict); a
// refusal changes nothing.
func (s *Service) PutIPNSRecord(ctx context.Context, name string, raw []byte) error {
	name = canonicalName(name)
	rec, err := node.CheckRecord(name, raw)
	if err != nil {
		return err
	}
	if _, err := s.store.NameOf("", name); err != nil {
		return fmt.Errorf("%w: this server holds no name %s and keeps records only for names its accounts registered", ErrNotFound, name)
	}
	n, err := s.store.UpdateName("", name, func(n *store.Name) error {
		if len(n.Record) > 0 && rec.Sequence <= n.Sequence {
			return fmt.Errorf("%w: sequence %d is not greater than the name's current sequence %d", ErrConflict, rec.Sequence, n.Sequence)
		}
		n.Record, n.Value, n.Sequence, n.Validity, n.TTL = raw, rec.Value, rec.Sequence, rec.Validity, int64(rec.TTL)
		n.Published, n.External = s.now().UTC(), true
		return nil
	})
	if err != nil {
		return err
	}
	s.putToDHT(n)
	return nil
}

// nameState is the republisher's memory of when each name was last put
// to the DHT (lost at restart: the first round after a start re-puts
// every name).
type nameState struct {
	mu  sync.Mutex
	put map[string]time.Time
}

func (ns *nameState) forget(name string) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	delete(ns.put, name)
}

// putToDHT puts n's record to the DHT in the background (nothing when
// offline).
func (s *Service) putToDHT(n store.Name) {
	if !s.node.Online() {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.node.PutRecord(s.bg, n.Name, n.Record); err != nil {
			if s.bg.Err() == nil {
				s.log.Warn("ipns: put record to the DHT", "name", n.Name, "err", err)
			}
			return
		}
		s.names.mu.Lock()
		s.names.put[n.Name] = s.now()
		s.names.mu.Unlock()
	}()
}

func (s *Service) runRepublisher(ctx context.Context, every time.Duration) {
	defer s.wg.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := s.Republish(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("ipns: republish", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Republish re-signs the records of names held here whose end of life is
// near (less than half their lifetime or a day left: same value and
// sequence, a new end of life) and, when online, puts to the DHT every
// record not put for dhtRepublish. An external name's record cannot be
// re-signed; it is re-put as it is until it expires. It returns how many
// records it re-signed.
func (s *Service) Republish(ctx context.Context) (int, error) {
	resigned := 0
	for after := ""; ; {
		batch, next, err := s.store.PublishedNames(after, republishBatch)
		if err != nil {
			return resigned, fmt.Errorf("republish: %w", err)
		}
		n, err := s.republish(ctx, batch)
		resigned += n
		if err != nil || next == "" {
			return resigned, err
		}
		after = next
	}
}

// republish is Republish over one batch of published names.
func (s *Service) republish(ctx context.Context, due []store.Name) (int, error) {
	now := s.now()
	resigned := 0
	var err error
	for _, n := range due {
		if ctx.Err() != nil {
			return resigned, ctx.Err()
		}
		left := n.Validity.Sub(now)
		if len(n.Key) > 0 && !n.External && (left < time.Duration(n.Lifetime)/2 || left < 24*time.Hour) {
			name := n.Name
			n, err = s.store.UpdateName("", name, func(m *store.Name) error {
				if m.Sequence != n.Sequence || m.External {
					return nil // published meanwhile
				}
				lifetime := time.Duration(m.Lifetime)
				if lifetime <= 0 {
					lifetime = DefaultNameLifetime
				}
				validity := now.Add(lifetime).UTC()
				rec, err := node.SignRecord(m.Key, m.Value, m.Sequence, validity, time.Duration(m.TTL))
				if err != nil {
					return err
				}
				m.Record, m.Validity = rec, validity
				return nil
			})
			if err != nil {
				if errIsNotFound(err) {
					continue // deleted meanwhile
				}
				return resigned, fmt.Errorf("republish %s: %w", name, err)
			}
			resigned++
			s.putToDHT(n)
			continue
		}
		s.names.mu.Lock()
		last := s.names.put[n.Name]
		s.names.mu.Unlock()
		if now.Sub(last) >= dhtRepublish && n.Validity.After(now) {
			s.putToDHT(n)
		}
	}
	return resigned, nil
}
