package store

import (
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

type eventKind int

const (
	eventRequest eventKind = iota
	eventTokenFailure
)

// Event is one analytics record: an authenticated request (or a gateway
// read). Events are batched in memory and committed at most
// EventFlushInterval later; a crash loses at most that window of events,
// never a pin record.
type Event struct {
	kind eventKind

	Time         time.Time `json:"t"`
	AccountID    string    `json:"acct,omitempty"`
	KeyID        string    `json:"key,omitempty"`
	TokenID      string    `json:"tok,omitempty"`
	Prefix       string    `json:"API_KEY_PREFIX,omitempty"`
	Endpoint     string    `json:"ep"`
	Status       int       `json:"st"`
	Bytes        int64     `json:"b,omitempty"` // bytes uploaded (or served, for gateway reads)
	MimeType     string    `json:"mime,omitempty"`
	CID          string    `json:"cid,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	GatewayBytes int64     `json:"gw,omitempty"`
}

// RecordEvent queues an analytics event. It never blocks on disk; if the
// queue is full the event is dropped and counted in the log.
func (s *Store) RecordEvent(e Event) {
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	e.kind = eventRequest
	s.enqueue(e)
}

func (s *Store) enqueue(e Event) {
	select {
	case s.events <- e:
	default:
		s.log.Warn("analytics queue full, event dropped", "endpoint", e.Endpoint)
	}
}

// FlushEvents commits every queued event now (tests and shutdown use it).
func (s *Store) FlushEvents() {
	done := make(chan struct{})
	select {
	case s.flushed <- done:
		<-done
	case <-time.After(5 * time.Second):
	}
}

func (s *Store) runEvents(ctx context.Context, every time.Duration) {
	defer s.wg.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	var batch []Event
	flush := func() {
		// Drain whatever is queued so a flush request covers events sent
		// before it.
	drain:
		for {
			select {
			case e := <-s.events:
				batch = append(batch, e)
			default:
				break drain
			}
		}
		if len(batch) == 0 {
			return
		}
		if err := s.writeEvents(batch); err != nil {
			s.log.Error("write analytics events", "err", err, "events", len(batch))
		}
		batch = batch[:0]
	}
	for {
		select {
		case e := <-s.events:
			batch = append(batch, e)
			if len(batch) >= 1024 {
				flush()
			}
		case <-tick.C:
			flush()
		case done := <-s.flushed:
			flush()
			close(done)
		case <-ctx.Done():
			flush()
			return
		}
	}
}

func (s *Store) writeEvents(batch []Event) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		eb := tx.Bucket(bucketEvents)
		tb := tx.Bucket(bucketTokens)
		for _, e := range batch {
			if e.kind == eventTokenFailure {
				var t Token
				if err := getJSON(tb, []byte(e.TokenID), &t); err != nil {
					continue // the token is gone; nothing to count against
				}
				if t.Failures == nil {
					t.Failures = map[string]int64{}
				}
				t.Failures[e.Reason]++
				if err := putJSON(tb, []byte(t.ID), t); err != nil {
					return err
				}
				continue
			}
			if err := putJSON(eb, s.eventKey(e.Time), e); err != nil {
				return err
			}
		}
		return nil
	})
}

// eventKey orders events by time; the sequence number keeps keys unique.
func (s *Store) eventKey(t time.Time) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	return binary.BigEndian.AppendUint64(k, s.eventSeq.Add(1))
}

// Events calls fn with an account's events in [from, to), oldest first.
// An empty accountID means every account.
func (s *Store) Events(accountID string, from, to time.Time, fn func(Event) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		start := binary.BigEndian.AppendUint64(nil, uint64(max(from.UnixNano(), 0)))
		end := uint64(to.UnixNano())
		for k, v := c.Seek(start); k != nil; k, v = c.Next() {
			if binary.BigEndian.Uint64(k) >= end {
				break
			}
			var e Event
			if err := getJSONRaw(v, &e); err != nil {
				return err
			}
			if accountID != "" && e.AccountID != accountID {
				continue
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
}
