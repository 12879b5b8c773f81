package pinning

import (
	"context"
	"fmt"

	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// Limits on what a record may hold: enough for labels and app ids, small
// enough that a pin record stays a few KiB. A name is at most what the
// Pinning Service API allows.
const (
	MaxNameLen      = 255
	MaxDescLen      = 4096
	MaxMetaKeys     = 64
	MaxMetaKeyLen   = 128
	MaxMetaValueLen = 2048
)

// checkLabel refuses a label over its limit.
func checkLabel(field, v string, limit int) error {
	if len(v) > limit {
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalid, field, limit)
	}
	return nil
}

// checkMetadata enforces the metadata limits.
func checkMetadata(m map[string]string) error {
	if len(m) > MaxMetaKeys {
		return fmt.Errorf("%w: metadata has %d keys; at most %d are allowed", ErrInvalid, len(m), MaxMetaKeys)
	}
	for k, v := range m {
		if k == "" || len(k) > MaxMetaKeyLen {
			return fmt.Errorf("%w: metadata key %q must be 1 to %d bytes", ErrInvalid, k, MaxMetaKeyLen)
		}
		if len(v) > MaxMetaValueLen {
			return fmt.Errorf("%w: metadata value of %q is longer than %d bytes", ErrInvalid, k, MaxMetaValueLen)
		}
	}
	return nil
}

// CheckMetadata validates metadata a dialect decoded, so every dialect
// refuses the same things.
func CheckMetadata(m map[string]string) error { return checkMetadata(m) }

// Account resolves the account a request acts on: the caller's own, or
// the one named (id or name). Only the operator (the admin socket, or a
// credential with scope admin) may name an account not its own; anyone
// else gets token.ErrForbidden, so one account never sees another's
// records. The operator without a name acts on the first account.
func (s *Service) Account(ctx context.Context, p Principal, name string) (store.Account, error) {
	if name != "" {
		a, err := s.store.Account(name)
		if err != nil {
			return store.Account{}, err
		}
		if p.Operator || p.Allows(token.ScopeAdmin) || a.ID == p.AccountID {
			return a, nil
		}
		return store.Account{}, fmt.Errorf("%w: only the operator (scope admin) may act on another account", token.ErrForbidden)
	}
	if p.AccountID != "" {
		return s.store.Account(p.AccountID)
	}
	all, err := s.store.Accounts()
	if err != nil {
		return store.Account{}, err
	}
	if len(all) == 0 {
		return store.Account{}, fmt.Errorf("%w: no account exists yet", ErrNotFound)
	}
	return all[0], nil
}

// CreateAccount adds an account with a unique name.
func (s *Service) CreateAccount(ctx context.Context, name string) (store.Account, error) {
	if name == "" {
		return store.Account{}, fmt.Errorf("%w: name is required", ErrInvalid)
	}
	if err := checkLabel("name", name, MaxNameLen); err != nil {
		return store.Account{}, err
	}
	return s.store.CreateAccount(name)
}

// ListAccounts lists a page of accounts, newest first, and the next
// page's cursor.
func (s *Service) ListAccounts(ctx context.Context, page store.Page) ([]store.Account, string, error) {
	return s.store.ListAccounts(page)
}

// FirstStart creates the first account and its admin key when the
// database has no account yet, and returns the key's secret ("" when
// accounts exist).
func (s *Service) FirstStart(ctx context.Context) (string, error) {
	accounts, err := s.store.Accounts()
	if err != nil || len(accounts) > 0 {
		return "", err
	}
	a, err := s.store.CreateAccount("default")
	if err != nil {
		return "", fmt.Errorf("first start: %w", err)
	}
	secret, _, err := s.CreateAPIKey(ctx, a.ID, "admin", []token.Scope{token.ScopeAdmin})
	if err != nil {
		return "", fmt.Errorf("first start: %w", err)
	}
	return secret, nil
}

// Quota returns an account's effective quota (its override, else the
// server's default) and its override alone; 0 fields mean no limit in the
// effective one, the default in the override, and -1 no limit in both.
func (s *Service) Quota(ctx context.Context, accountID string) (effective, override store.Quota, err error) {
	effective, override, err = s.store.Quota(accountID)
	if err != nil {
		return store.Quota{}, store.Quota{}, fmt.Errorf("quota: %w", err)
	}
	return effective, override, nil
}

// SetQuota sets an account's override (the zero Quota removes it: the
// default applies again).
func (s *Service) SetQuota(ctx context.Context, accountID string, q store.Quota) error {
	if err := s.store.SetQuota(accountID, q); err != nil {
		return fmt.Errorf("set quota: %w", err)
	}
	return nil
}
