package server

import (
	"context"
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
}

// Node is what the server needs from the embedded IPFS node.
type Node interface {
	NewImport(profile node.Profile) *node.Import
	Has(ctx context.Context, c cid.Cid) (bool, error)
	Gateway() http.Handler
	PeerID() string
	Addrs() []string
	Peers() []string
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
	Reserve(tokenID string) error
	Release(tokenID, reason string)
	RecordFailure(tokenID, reason string)
	Remaining(tokenID string) (int64, error)

	AddPins(pins []store.Pin, use *store.TokenUse) ([]store.Pin, error)
	PinsByCID(accountID, cid string) ([]store.Pin, error)
	ListPins(accountID string, f store.PinFilter) ([]store.Pin, int, error)

	RecordEvent(e store.Event)
	Events(accountID string, from, to time.Time, fn func(store.Event) error) error
}
