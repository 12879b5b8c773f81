package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migrate4 brings a schema-3 database to schema 4. Schema 3 kept the
// records (accounts, keys, tokens, signing keys, access JWTs, jtis, pins,
// events) and three indexes (pinsbyacct/ and pinsbycid/ with 0x00
// separators, cidrefs/, pinqueue/). Records keep their JSON; every index,
// counter and roll-up of schema 4 is derived from them, so the migration
// drops the derived buckets and rebuilds them from the records, in
// transactions of migrateChunk records (a million pins do not fit one
// transaction's memory). If it stops half way the version is still 3 and
// the next open starts it over from the drop, so it is safe to rerun.
//
// Raw events stay as they were: the roll-ups are built from them (an
// anonymous gateway read counts for the accounts pinning its CID now, as
// /analytics counted it when it read raw events), and they stay readable
// through Events until the retention prunes them. jtis consumed before
// they were scoped by issuer keep their bare keys (ConsumeJTI checks
// both) and are indexed for pruning like the others.
func migrate4(s *Store, version uint64) error {
	populated := false // a new database has nothing to say
	err := s.update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketAccounts); b != nil {
			k, _ := b.Cursor().First()
			populated = k != nil
		}
		for _, b := range append([][]byte{bucketPinsByAcct}, schema4Buckets...) {
			if err := tx.DeleteBucket(b); err != nil && tx.Bucket(b) != nil {
				return fmt.Errorf("drop %s: %w", b, err)
			}
		}
		return createBuckets(tx, append(schema4Buckets, bucketQuotas, bucketMeta,
			bucketAccounts, bucketKeys, bucketKeyHash, bucketTokens, bucketTokHash, bucketPins,
			bucketEvents, bucketSigningKeys, bucketJTIs, bucketAccessJWTs)...)
	})
	if err != nil {
		return err
	}
	steps := []struct {
		bucket []byte
		each   func(tx *wtx, k, v []byte) error
	}{
		{bucketAccounts, migrateAccount},
		{bucketKeys, migrateKey},
		{bucketTokens, migrateToken},
		{bucketSigningKeys, migrateSigningKey},
		{bucketAccessJWTs, migrateAccessJWT},
		{bucketJTIs, migrateJTI},
		{bucketPins, s.migratePin},
	}
	for _, st := range steps {
		if populated {
			s.log.Info("store: migrating to schema 4", "rebuilding from", string(st.bucket))
		}
		if err := s.eachChunk(st.bucket, st.each, nil); err != nil {
			return fmt.Errorf("rebuild from %s: %w", st.bucket, err)
		}
	}
	if err := s.migrateEvents(); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error { return setVersion(tx, version) })
}

// migrateChunk is how many records one migration transaction reads: as
// importChunk, and for the same reason. A million pins take about as long
// as ImportPins of them (some 200 µs each: minutes, once).
const migrateChunk = 500

// eachChunk calls each with every record of bucket, migrateChunk per
// transaction; done, if set, runs at the end of each transaction.
func (s *Store) eachChunk(bucket []byte, each func(tx *wtx, k, v []byte) error, done func(tx *wtx) error) error {
	var after []byte
	for {
		n := 0
		err := s.write(func(tx *wtx) error {
			c := tx.Bucket(bucket).Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && n < migrateChunk; k, v = c.Next() {
				if err := each(tx, k, v); err != nil {
					return err
				}
				after = bytes.Clone(k)
				n++
			}
			if done != nil {
				return done(tx)
			}
			return nil
		})
		if err != nil || n < migrateChunk {
			return err
		}
	}
}

func decodeRecord(k, v []byte, rec any) error {
	if err := json.Unmarshal(v, rec); err != nil {
		return fmt.Errorf("%w: record %q does not decode: %v", ErrCorrupt, k, err)
	}
	return nil
}

func migrateAccount(w *wtx, k, v []byte) error {
	tx := w.Tx
	var a Account
	if err := decodeRecord(k, v, &a); err != nil {
		return err
	}
	if err := tx.Bucket(bucketAcctNames).Put([]byte(a.Name), []byte(a.ID)); err != nil {
		return err
	}
	return tx.Bucket(bucketAcctsByTime).Put(timeIDKey(a.Created, []byte(a.ID)), nil)
}

func migrateKey(w *wtx, k, v []byte) error {
	tx := w.Tx
	var key APIKey
	if err := decodeRecord(k, v, &key); err != nil {
		return err
	}
	return putRecordIndex(tx, bucketKeysByAcct, key.AccountID, key.Created, key.ID)
}

func migrateToken(w *wtx, k, v []byte) error {
	tx := w.Tx
	var t Token
	if err := decodeRecord(k, v, &t); err != nil {
		return err
	}
	if !t.ExpiresAt.IsZero() {
		if err := tx.Bucket(bucketTokExpiry).Put(timeIDKey(t.ExpiresAt, []byte(t.ID)), nil); err != nil {
			return err
		}
	}
	return putRecordIndex(tx, bucketToksByAcct, t.AccountID, t.Created, t.ID)
}

func migrateSigningKey(w *wtx, k, v []byte) error {
	tx := w.Tx
	var sk SigningKey
	if err := decodeRecord(k, v, &sk); err != nil {
		return err
	}
	return putRecordIndex(tx, bucketSigKeysByAc, sk.AccountID, sk.Created, sk.ID)
}

func migrateAccessJWT(w *wtx, k, v []byte) error {
	tx := w.Tx
	var j AccessJWT
	if err := decodeRecord(k, v, &j); err != nil {
		return err
	}
	return putRecordIndex(tx, bucketJWTsByAcct, j.AccountID, j.Created, j.JTI)
}

func migrateJTI(w *wtx, k, v []byte) error {
	tx := w.Tx
	if len(v) != 8 {
		return fmt.Errorf("%w: jti %q has a damaged expiry %x", ErrCorrupt, k, v)
	}
	return tx.Bucket(bucketJTIExpiry).Put(append(bytes.Clone(v), k...), nil)
}

func (s *Store) migratePin(tx *wtx, k, v []byte) error {
	var p Pin
	if err := decodeRecord(k, v, &p); err != nil {
		return err
	}
	if err := validatePin(&p); err != nil {
		return fmt.Errorf("%w: pin %q: %v", ErrCorrupt, k, err)
	}
	if last := getU64(tx.Bucket(bucketMeta), keyLastCreated); uint64(p.Created.UnixNano()) > last {
		tx.Bucket(bucketMeta).Put(keyLastCreated, u64(uint64(p.Created.UnixNano())))
	}
	return s.applyPin(tx, nil, &p)
}

// migrateEvents builds the roll-ups from the raw events, a chunk per
// transaction. The reads' CID owners are those the pins rebuilt.
func (s *Store) migrateEvents() error {
	var r *rollupBatch
	start := func() { r = newRollupBatch(s.isUpload); r.keepReads = false }
	start()
	each := func(tx *wtx, k, v []byte) error {
		var e Event
		if err := decodeRecord(k, v, &e); err != nil {
			return err
		}
		switch {
		case e.AccountID != "":
			r.request(e)
		case e.GatewayBytes > 0:
			r.gatewayRead(e)
		}
		return nil
	}
	done := func(tx *wtx) error {
		err := r.write(tx)
		start()
		return err
	}
	if err := s.eachChunk(bucketEvents, each, done); err != nil {
		return fmt.Errorf("roll up events: %w", err)
	}
	return nil
}
