package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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
// EventFlushInterval later, together with the daily roll-ups they feed; a
// crash loses at most that window of events, never a pin record.
//
// Authenticated requests are kept raw for Options.EventRetention.
// Anonymous gateway reads (AccountID "", GatewayBytes > 0) are not kept one
// by one: they are summed per CID per day, and attributed when the batch
// is written to every account and prefix whose pinned pins hold the CID.
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
	// Reads is set on the events Events makes of a day's anonymous reads
	// of one CID: how many reads they sum (their GatewayBytes is the
	// total, their Time the first read's).
	Reads int64 `json:"reads,omitempty"`
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
		// One line per interval, with the count: a flood must not turn
		// into a flood of log lines too.
		n := s.dropped.Add(1)
		now := s.now().UnixNano()
		if last := s.droppedLogged.Load(); now-last >= int64(10*time.Second) && s.droppedLogged.CompareAndSwap(last, now) {
			s.log.Warn("analytics queue full, events dropped", "dropped", n, "endpoint", e.Endpoint)
		}
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

// eventBatch is the most events one transaction writes.
const eventBatch = 1024

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
		for len(batch) > 0 {
			n := min(len(batch), eventBatch)
			if err := s.writeEvents(batch[:n]); err != nil {
				s.log.Error("write analytics events", "err", err, "events", n)
			}
			batch = batch[n:]
		}
		batch = nil
	}
	for {
		select {
		case e := <-s.events:
			batch = append(batch, e)
			if len(batch) >= eventBatch {
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

// writeEvents commits a batch: raw events, token failures, and the
// roll-ups, in one transaction.
func (s *Store) writeEvents(batch []Event) error {
	if s.opts.ReadOnly {
		return nil
	}
	keepFrom := s.now().Add(-s.opts.EventRetention)
	return s.write(func(tx *wtx) error {
		r := newRollupBatch(s.isUpload)
		eb := tx.Bucket(bucketEvents)
		for _, e := range batch {
			switch {
			case e.kind == eventTokenFailure:
				if err := countFailure(tx.Tx, e); err != nil {
					return err
				}
				continue
			case e.AccountID == "" && e.GatewayBytes > 0:
				r.gatewayRead(e)
				continue
			case e.AccountID != "":
				r.request(e)
			}
			// An event already past the retention is rolled up but not
			// kept: pruning would delete it next.
			if e.Time.Before(keepFrom) {
				continue
			}
			if err := putJSON(eb, s.eventKey(e.Time), e); err != nil {
				return err
			}
		}
		return r.write(tx)
	})
}

func countFailure(tx *bolt.Tx, e Event) error {
	tb := tx.Bucket(bucketTokens)
	var t Token
	if err := getJSON(tb, []byte(e.TokenID), &t); err != nil {
		return nil // the token is gone (or unreadable); nothing to count against
	}
	if t.Failures == nil {
		t.Failures = map[string]int64{}
	}
	t.Failures[e.Reason]++
	return putJSON(tb, []byte(t.ID), t)
}

// isUpload reports whether an endpoint is one of Options.UploadEndpoints.
func (s *Store) isUpload(endpoint string) bool {
	for _, u := range s.opts.UploadEndpoints {
		if endpoint == u || strings.HasSuffix(u, "/") && strings.HasPrefix(endpoint, u) {
			return true
		}
	}
	return false
}

// eventKey orders events by time; the sequence number keeps keys unique.
func (s *Store) eventKey(t time.Time) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(nanos(t)))
	return binary.BigEndian.AppendUint64(k, s.eventSeq.Add(1))
}

// Events calls fn with an account's events in [from, to), oldest first.
// An empty accountID means every account, and then also the day's
// anonymous gateway reads of each CID, as one event each (see Event.Reads)
// at the time of the day's first read. Raw events are kept for
// Options.EventRetention; Rollup answers beyond it.
func (s *Store) Events(accountID string, from, to time.Time, fn func(Event) error) error {
	return s.view(func(tx *bolt.Tx) error {
		var reads []Event
		if accountID == "" {
			var err error
			if reads, err = gatewayReadEvents(tx, from, to); err != nil {
				return err
			}
		}
		c := tx.Bucket(bucketEvents).Cursor()
		end := uint64(nanos(to))
		for k, v := c.Seek(u64(uint64(nanos(from)))); k != nil && binary.BigEndian.Uint64(k) < end; k, v = c.Next() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("%w: event %x does not decode: %v", ErrCorrupt, k, err)
			}
			if accountID != "" && e.AccountID != accountID {
				continue
			}
			for len(reads) > 0 && reads[0].Time.Before(e.Time) {
				if err := fn(reads[0]); err != nil {
					return err
				}
				reads = reads[1:]
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		for _, r := range reads {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// gatewayReadEvents returns the per-CID daily read sums whose first read
// is in [from, to), as events in time order.
func gatewayReadEvents(tx *bolt.Tx, from, to time.Time) ([]Event, error) {
	var out []Event
	lo, hi := nanos(from), nanos(to)
	c := tx.Bucket(bucketGWReads).Cursor()
	for k, v := c.Seek(dayKey(nil, dayOf(from))); k != nil; k, v = c.Next() {
		if int64(binary.BigEndian.Uint32(k))*int64(24*time.Hour) >= hi {
			break
		}
		g, err := decodeGWRead(v)
		if err != nil {
			return nil, err
		}
		if g.first < lo || g.first >= hi {
			continue
		}
		out = append(out, Event{Time: time.Unix(0, g.first).UTC(), Endpoint: "GET /ipfs/", Status: 200,
			CID: string(k[4:]), GatewayBytes: g.bytes, Reads: g.reads})
	}
	slices.SortStableFunc(out, func(a, b Event) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// gwRead is a day's anonymous reads of one CID.
type gwRead struct{ reads, bytes, first int64 }

func decodeGWRead(v []byte) (gwRead, error) {
	if len(v) != 24 {
		return gwRead{}, fmt.Errorf("%w: gateway read record %x does not decode", ErrCorrupt, v)
	}
	return gwRead{int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint64(v[8:])), int64(binary.BigEndian.Uint64(v[16:]))}, nil
}

func (g gwRead) encode() []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(u64(uint64(g.reads)), uint64(g.bytes)), uint64(g.first))
}

func gwReadKey(day uint32, cid string) []byte { return append(dayKey(nil, day), cid...) }
