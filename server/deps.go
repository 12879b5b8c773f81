package server

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Deps are the parts a Server is built on.
type Deps struct {
	Store  Store
	Node   Node
	Hasher *token.Hasher
	// Pinner runs pin-by-CID requests; nil answers them 503 (the CLI's
	// in-process admin server has none).
	Pinner *Pinner
	// Signer signs and verifies access JWTs; nil disables them.
	Signer *token.Signer
}

// Node is what the server needs from the embedded IPFS node.
type Node interface {
	NewImport(profile node.Profile) *node.Import
	Has(ctx context.Context, c cid.Cid) (bool, error)
	Gateway() http.Handler
	PeerID() string
	Addrs() []string
	Peers() []string
	LocalDAG(ctx context.Context, c cid.Cid) (size uint64, complete bool, err error)
	GCFunc(ctx context.Context, live func(context.Context) ([]cid.Cid, error)) (node.GCStats, error)
	ExportCAR(ctx context.Context, c cid.Cid, w io.Writer) error
}

// Store is what the server needs from the record store.
type Store interface {
	Accounts() ([]store.Account, error)
	Account(idOrName string) (store.Account, error)
	CreateAccount(name string) (store.Account, error)

	CreateAPIKey(k store.APIKey) (store.APIKey, error)
	APIKeyByHash(hash []byte) (store.APIKey, error)
	APIKeys(accountID string) ([]store.APIKey, error)
	RevokeAPIKey(accountID, id string) (store.APIKey, error)

	CreateToken(t store.Token) (store.Token, error)
	TokenByHash(hash []byte) (store.Token, store.APIKey, error)
	Token(accountID, id string) (store.Token, error)
	Tokens(accountID string) ([]store.Token, error)
	RevokeToken(accountID, id string) (store.Token, error)
	Reserve(tokenID string) (bool, error)
	Release(tokenID, reason string)
	RecordFailure(tokenID, reason string)
	Remaining(tokenID string) (int64, error)

	AddPins(pins []store.Pin, use *store.TokenUse) ([]store.Pin, error)
	PinsByCID(accountID, cid string) ([]store.Pin, error)
	ListPins(accountID string, f store.PinFilter) ([]store.Pin, int, error)
	DeletePin(accountID, id string) (store.Pin, error)
	Pin(accountID, id string) (store.Pin, error)
	LiveCIDs(fn func(cid string) error) error

	CreateSigningKey(k store.SigningKey) (store.SigningKey, error)
	SigningKey(kid string) (store.SigningKey, store.APIKey, error)
	SigningKeys(accountID string) ([]store.SigningKey, error)
	RevokeSigningKey(accountID, kid string) (store.SigningKey, error)
	ConsumeJTI(issuer, jti string, expires time.Time) (bool, error)
	CreateAccessJWT(j store.AccessJWT) (store.AccessJWT, error)
	AccessJWT(jti string) (store.AccessJWT, store.APIKey, error)
	AccessJWTs(accountID string) ([]store.AccessJWT, error)
	RevokeAccessJWT(accountID, jti string) (store.AccessJWT, error)
	UseAccessJWT(jti string) (bool, error)

	RecordEvent(e store.Event)
	Events(accountID string, from, to time.Time, fn func(store.Event) error) error
}
