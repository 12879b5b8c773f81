package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ipfs/boxo/ipns"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// IPNS: the node signs, checks and announces records; which names exist,
// who owns them and which record is current is the domain's (package
// pinning) and the store's. Keys cross this boundary as bytes
// (crypto.MarshalPrivateKey), records as their protobuf bytes, names as
// their base36 CIDv1 libp2p-key strings ("k51…").

// Errors of IPNS names and records.
var (
	// ErrBadName is a string that is not an IPNS name (a libp2p-key CID or
	// a peer ID).
	ErrBadName = errors.New("not an IPNS name")
	// ErrBadRecord is a record that does not decode, is not signed by its
	// name's key, or has a value that is not a content path.
	ErrBadRecord = errors.New("invalid IPNS record")
	// ErrRecordExpired is a validly signed record past its validity.
	ErrRecordExpired = errors.New("the IPNS record has expired")
)

// NewNameKey makes the Ed25519 key of a new IPNS name and returns it
// (crypto.MarshalPrivateKey bytes) with the name it signs for.
func NewNameKey() (key []byte, name string, err error) {
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("generate name key: %w", err)
	}
	pid, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return nil, "", fmt.Errorf("name key: %w", err)
	}
	key, err = crypto.MarshalPrivateKey(sk)
	if err != nil {
		return nil, "", fmt.Errorf("marshal name key: %w", err)
	}
	return key, ipns.NameFromPeer(pid).String(), nil
}

// ParseName returns s, an IPNS name as a libp2p-key CID in any base or a
// peer ID (with or without /ipns/), in its canonical form: CIDv1
// libp2p-key in base36.
func ParseName(s string) (string, error) {
	n, err := ipns.NameFromString(strings.TrimPrefix(s, "/ipns/"))
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrBadName, s)
	}
	return n.String(), nil
}

// ParseValue returns v, "/ipfs/{cid}[/path]", "/ipns/{name}[/path]" or a
// bare CID, as the content path a record points at, with its CID as
// CIDv1 (so a CIDv0 value reads as it will be served); the root CID is
// returned too, for the caller's checks (is it stored here?). An /ipns/
// value has an undefined root.
func ParseValue(v string) (string, cid.Cid, error) {
	v = strings.TrimSpace(v)
	if c, err := cid.Decode(v); err == nil {
		v = "/ipfs/" + c.String()
	}
	p, err := path.NewPath(v)
	if err != nil {
		return "", cid.Undef, fmt.Errorf("%w: value %q is not /ipfs/{cid}[/path], /ipns/{name}[/path] or a CID", ErrBadPath, v)
	}
	if p.Namespace() != path.IPFSNamespace {
		return p.String(), cid.Undef, nil
	}
	ip, err := path.NewImmutablePath(p)
	if err != nil {
		return "", cid.Undef, fmt.Errorf("%w: %v", ErrBadPath, err)
	}
	root := ip.RootCid()
	rest := strings.TrimPrefix(ip.String(), "/ipfs/"+root.String())
	if root.Version() == 0 {
		root = cid.NewCidV1(root.Type(), root.Hash())
	}
	return "/ipfs/" + root.String() + rest, root, nil
}

// Record is what a checked IPNS record says.
type Record struct {
	Name     string // the canonical name it is signed for
	Value    string // the content path
	Sequence uint64
	Validity time.Time // end of life
	TTL      time.Duration
}

// SignRecord signs a record of key's name pointing at value (a path as
// ParseValue returns it), with both signatures (V1 for older readers, V2)
// as boxo's ipns.NewRecord makes them, and returns its protobuf bytes.
func SignRecord(key []byte, value string, seq uint64, validity time.Time, ttl time.Duration) ([]byte, error) {
	sk, err := crypto.UnmarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("name key: %w", err)
	}
	p, err := path.NewPath(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPath, err)
	}
	rec, err := ipns.NewRecord(sk, p, seq, validity, ttl)
	if err != nil {
		return nil, fmt.Errorf("sign record: %w", err)
	}
	b, err := ipns.MarshalRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("marshal record: %w", err)
	}
	return b, nil
}

// CheckRecord verifies that raw is a record signed by name's key (boxo's
// ipns.ValidateWithName: size, V2 signature, V1 fields matching, validity)
// and returns what it says. A malformed or wrongly signed record is
// ErrBadRecord, an expired one ErrRecordExpired.
func CheckRecord(name string, raw []byte) (Record, error) {
	n, err := ipns.NameFromString(name)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %q", ErrBadName, name)
	}
	if len(raw) > ipns.MaxRecordSize {
		return Record{}, fmt.Errorf("%w: larger than %d bytes", ErrBadRecord, ipns.MaxRecordSize)
	}
	rec, err := ipns.UnmarshalRecord(raw)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrBadRecord, err)
	}
	if err := ipns.ValidateWithName(rec, n); err != nil {
		if errors.Is(err, ipns.ErrExpiredRecord) {
			return Record{}, ErrRecordExpired
		}
		return Record{}, fmt.Errorf("%w: %v", ErrBadRecord, err)
	}
	return recordFields(n, rec)
}

func recordFields(n ipns.Name, rec *ipns.Record) (Record, error) {
	out := Record{Name: n.String()}
	v, err := rec.Value()
	if err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrBadRecord, err)
	}
	out.Value = v.String()
	if out.Sequence, err = rec.Sequence(); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrBadRecord, err)
	}
	if out.Validity, err = rec.Validity(); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrBadRecord, err)
	}
	if out.TTL, err = rec.TTL(); err != nil {
		out.TTL = 0 // optional in the spec
	}
	return out, nil
}

// PutRecord puts name's record to the DHT, as Kubo's publisher does
// (the public key travels in the name itself: Ed25519). Offline it does
// nothing and returns nil: the record is still served here (gateway,
// delegated routing).
func (n *Node) PutRecord(ctx context.Context, name string, raw []byte) error {
	if n.dht == nil {
		return nil
	}
	nm, err := ipns.NameFromString(name)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	ctx, cancel := context.WithTimeout(ctx, provideTimeout)
	defer cancel()
	if err := n.dht.PutValue(ctx, string(nm.RoutingKey()), raw); err != nil {
		return fmt.Errorf("put ipns record: %w", err)
	}
	return nil
}
