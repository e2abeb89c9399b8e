package eventstoredb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/kaiku/kaiku/domain"
)

// InternalStreamPrefix starts the names of streams Kaiku may keep for its
// own bookkeeping in KurrentDB. They are not part of the domain log:
// ReadAll and Subscribe skip them, and Append refuses domain events for
// them, as it refuses KurrentDB's own $-streams.
const InternalStreamPrefix = "_kaiku-"

// anyVersionAttempts bounds how often an AnyVersion append re-reads and
// retries when other writers keep appending to the same stream.
const anyVersionAttempts = 16

// errPartlyStored reports an append some of whose event ids are in the
// stream already while others are not: neither new nor a retry.
var errPartlyStored = fmt.Errorf("%w: the event is already in the stream, the append's other events are not", domain.ErrConflict)

// maxReadPage is the most events ReadAll asks the server for at once.
const maxReadPage = 4096

var _ domain.EventStore = (*Store)(nil)

// Store is the event store on KurrentDB. It is safe for concurrent use.
//
// It keeps the guarantees of domain.EventStore with two documented
// differences that follow from KurrentDB itself:
//   - AppendBatch is not atomic across streams (KurrentDB has no
//     multi-stream transaction); see AppendBatch.
//   - Event ids are unique per stream, not across the whole log: KurrentDB
//     deduplicates by id within a stream only, and has no index by id.
type Store struct {
	client *esdb.Client
	subs   subscriber
	// prefix is prepended to every stream name and ReadAll/Subscribe see
	// only streams that carry it; floor is where $all ended when the store
	// was made. Both exist so that tests can share one server that cannot
	// be reset; New leaves them empty.
	prefix string
	floor  esdb.Position
	// backoff is how long Subscribe waits before its attempt-th
	// resubscription.
	backoff func(attempt int) time.Duration
}

// New connects to KurrentDB at url (kurrentdb://, kdb://, esdb:// or the
// +discover forms, e.g. "kurrentdb://localhost:2113?tls=false") and checks
// that the server answers, within ctx. It returns an error when the url
// does not parse or the server cannot be reached. Close the Store when done.
func New(ctx context.Context, url string) (*Store, error) {
	cfg, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	cfg.Logger = clientLogger
	client, err := esdb.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb client for %s: %w", redact(url), err)
	}
	s := &Store{client: client, subs: clientSubscriber{client}, backoff: defaultBackoff}
	// Reading a stream that does not exist proves the server answers
	// without needing the admin rights that reading $all would.
	if _, err := s.readRecords(ctx, InternalStreamPrefix+"ping", esdb.Start{}, 1); err != nil {
		client.Close()
		return nil, fmt.Errorf("reach kurrentdb at %s: %w", redact(url), err)
	}
	return s, nil
}

// Close releases the connection. Calls after Close fail.
func (s *Store) Close() error { return s.client.Close() }

// clientLogger routes the client's log lines to slog at debug level: the
// errors it logs are returned to Kaiku too, which reports them itself.
func clientLogger(level esdb.LogLevel, format string, args ...any) {
	slog.Debug("kurrentdb client: "+fmt.Sprintf(format, args...), "level", level)
}

// Append appends records to stream at the expected version, atomically,
// and returns them with Version, Position and RecordedAt as stored.
//
// It returns an error wrapping domain.ErrConflict when the stream is not at
// the expected version, or when some but not all of the records' ids are
// already in the stream. It is idempotent by event id: when all of them are
// already the stream's events, in order (a retry of an append whose answer
// was lost), it stores nothing and returns those events as first stored,
// whatever version is expected.
//
// KurrentDB recognises a retry by itself only among the events after the
// expected revision, and only best effort for "any". So Append first reads
// the stream up to the expected version (all of it for AnyVersion, and then
// appends at the version it read, retrying while other writers move the
// stream on): one extra read of a short aggregate stream per append.
func (s *Store) Append(ctx context.Context, stream domain.StreamID, expected domain.Version, records ...domain.Record) ([]domain.Record, error) {
	if len(records) == 0 {
		return nil, nil
	}
	if err := checkStream(stream); err != nil {
		return nil, err
	}
	events := make([]esdb.EventData, len(records))
	for i, r := range records {
		e, err := toEventData(r)
		if err != nil {
			return nil, fmt.Errorf("append to %s: %w", stream, err)
		}
		events[i] = e
	}
	if expected == domain.AnyVersion {
		return s.appendAny(ctx, stream, events)
	}
	var head []domain.Record
	if expected > 0 {
		// KurrentDB recognises ids only among the events after the
		// expected revision; one earlier in the stream would be stored a
		// second time. Read the events the expectation says are there.
		var err error
		if head, err = s.readRecords(ctx, s.name(stream), esdb.Start{}, uint64(expected)); err != nil {
			return nil, fmt.Errorf("append to %s: %w", stream, err)
		}
	}
	return s.appendAt(ctx, stream, expected, events, head)
}

// appendAny appends at whatever version the stream has, unless the events
// are already there.
func (s *Store) appendAny(ctx context.Context, stream domain.StreamID, events []esdb.EventData) ([]domain.Record, error) {
	for range anyVersionAttempts {
		current, err := s.readRecords(ctx, s.name(stream), esdb.Start{}, math.MaxInt64)
		if err != nil {
			return nil, fmt.Errorf("append to %s: %w", stream, err)
		}
		version := domain.NoStream
		if len(current) > 0 {
			version = current[len(current)-1].Version
		}
		stored, err := s.appendAt(ctx, stream, version, events, current)
		if !errors.Is(err, domain.ErrConflict) || errors.Is(err, errPartlyStored) {
			return stored, err
		}
	}
	return nil, fmt.Errorf("append to %s at any version: other writers kept appending for %d attempts: %w", stream, anyVersionAttempts, domain.ErrConflict)
}

// appendAt appends with an exact expectation, given head, the stream's
// events up to that version, and reads the stored events back, since
// KurrentDB answers an append with the last event's revision and position
// only. Events already in head are a retry when all of them are there in
// order, and a conflict when only some are.
func (s *Store) appendAt(ctx context.Context, stream domain.StreamID, expected domain.Version, events []esdb.EventData, head []domain.Record) ([]domain.Record, error) {
	rev, err := expectedRevision(expected)
	if err != nil {
		return nil, fmt.Errorf("append to %s: %w", stream, err)
	}
	if stored, ok := findEvents(head, events); ok {
		return stored, nil
	}
	if id, ok := anyStored(head, events); ok {
		return nil, fmt.Errorf("append to %s: event %s: %w", stream, id, errPartlyStored)
	}
	res, err := s.client.AppendToStream(ctx, s.name(stream), esdb.AppendToStreamOptions{ExpectedRevision: rev}, events...)
	if err != nil {
		err = mapError(ctx, err)
		if errors.Is(err, domain.ErrConflict) {
			// A retry whose first attempt was stored arrives with an
			// expectation the stream has since moved past.
			if stored, ok, ferr := s.findStored(ctx, stream, events); ferr == nil && ok {
				return stored, nil
			}
		}
		return nil, fmt.Errorf("append to %s at version %d: %w", stream, expected, err)
	}
	n := uint64(len(events))
	if last := res.NextExpectedVersion; last+1 >= n {
		stored, err := s.readRecords(ctx, s.name(stream), esdb.Revision(last+1-n), n)
		if err != nil {
			return nil, fmt.Errorf("read back append to %s: %w", stream, err)
		}
		if got, ok := findEvents(stored, events); ok {
			return got, nil
		}
	}
	// An idempotent retry may be answered with the stream's current
	// revision rather than that of the events it matched: find them.
	stored, ok, err := s.findStored(ctx, stream, events)
	if err != nil {
		return nil, fmt.Errorf("read back append to %s: %w", stream, err)
	}
	if !ok {
		return nil, fmt.Errorf("append to %s succeeded but its events are not in the stream", stream)
	}
	return stored, nil
}

// findStored reads the whole stream and looks for events as consecutive
// records.
func (s *Store) findStored(ctx context.Context, stream domain.StreamID, events []esdb.EventData) ([]domain.Record, bool, error) {
	all, err := s.readRecords(ctx, s.name(stream), esdb.Start{}, math.MaxInt64)
	if err != nil {
		return nil, false, err
	}
	stored, ok := findEvents(all, events)
	return stored, ok, nil
}

// findEvents returns the records of stream that are events, in order and
// consecutive, or false when they are not all there.
func findEvents(stream []domain.Record, events []esdb.EventData) ([]domain.Record, bool) {
	first := domain.EventID(events[0].EventID.String())
	for i, r := range stream {
		if r.ID != first {
			continue
		}
		if len(stream)-i < len(events) {
			return nil, false
		}
		for j, e := range events {
			if stream[i+j].ID != domain.EventID(e.EventID.String()) {
				return nil, false
			}
		}
		return stream[i : i+len(events)], true
	}
	return nil, false
}

// anyStored returns the id of one of events that is in stream already.
func anyStored(stream []domain.Record, events []esdb.EventData) (domain.EventID, bool) {
	ids := make(map[domain.EventID]bool, len(stream))
	for _, r := range stream {
		ids[r.ID] = true
	}
	for _, e := range events {
		if id := domain.EventID(e.EventID.String()); ids[id] {
			return id, true
		}
	}
	return "", false
}

// AppendBatch appends each part as Append does, in order, and returns all
// stored records.
//
// KurrentDB has no transaction over several streams, so unlike the
// PostgreSQL store this is not atomic. It narrows the gap instead: it first
// checks every part's expected version (and that a part already stored by
// an earlier try is recognised by its ids) and stores nothing when one
// fails, returning an error wrapping domain.ErrConflict. Only when another
// writer changes a later stream between that check and its append does it
// stop part way, returning a *BatchError that lists what was written and
// wraps the cause. Because Append is idempotent by event id, retrying the
// same batch with the same records then completes it without duplicates.
// That fits AppendBatch's uses (imports, seeding): they can be retried.
// (KurrentDB 25.1 added atomic multi-stream appends; the v4 Go client does
// not offer them, so this store cannot use them yet.)
func (s *Store) AppendBatch(ctx context.Context, batch []domain.StreamAppend) ([]domain.Record, error) {
	if err := s.checkBatch(ctx, batch); err != nil {
		return nil, err
	}
	var out []domain.Record
	for _, part := range batch {
		stored, err := s.Append(ctx, part.Stream, part.Expected, part.Records...)
		if err != nil {
			if len(out) == 0 {
				return nil, fmt.Errorf("append batch: %w", err)
			}
			return nil, &BatchError{Stream: part.Stream, Written: out, Err: err}
		}
		out = append(out, stored...)
	}
	return out, nil
}

// checkBatch checks every part's expectation before anything is written.
func (s *Store) checkBatch(ctx context.Context, batch []domain.StreamAppend) error {
	// after holds the version a stream will have once the earlier parts
	// of the batch for it are appended.
	after := map[domain.StreamID]domain.Version{}
	for _, part := range batch {
		if err := checkStream(part.Stream); err != nil {
			return fmt.Errorf("append batch: %w", err)
		}
		events := make([]esdb.EventData, len(part.Records))
		for i, r := range part.Records {
			e, err := toEventData(r)
			if err != nil {
				return fmt.Errorf("append batch to %s: %w", part.Stream, err)
			}
			events[i] = e
		}
		if len(events) == 0 {
			continue
		}
		projected, seen := after[part.Stream]
		switch {
		case part.Expected == domain.AnyVersion:
		case seen:
			if part.Expected != projected {
				return fmt.Errorf("append batch to %s: expects version %d after the batch's earlier part left it at %d: %w", part.Stream, part.Expected, projected, domain.ErrConflict)
			}
		default:
			if err := s.checkExpected(ctx, part.Stream, part.Expected, events); err != nil {
				return fmt.Errorf("append batch: %w", err)
			}
		}
		if part.Expected != domain.AnyVersion {
			after[part.Stream] = part.Expected + domain.Version(len(events))
		}
	}
	return nil
}

// checkExpected reports a conflict unless stream is at version expected,
// or already holds events right after it (an earlier try stored them).
func (s *Store) checkExpected(ctx context.Context, stream domain.StreamID, expected domain.Version, events []esdb.EventData) error {
	if _, err := expectedRevision(expected); err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	last, err := s.readDirection(ctx, s.name(stream), esdb.Backwards, esdb.End{}, 1)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	current := domain.NoStream
	if len(last) > 0 {
		current = last[0].Version
	}
	switch {
	case current == expected:
		return nil
	case current > expected:
		next, err := s.readRecords(ctx, s.name(stream), streamFrom(expected), uint64(len(events)))
		if err != nil {
			return fmt.Errorf("stream %s: %w", stream, err)
		}
		if _, ok := findEvents(next, events); ok && next[0].ID == domain.EventID(events[0].EventID.String()) {
			return nil
		}
	}
	return fmt.Errorf("stream %s is at version %d, not %d: %w", stream, current, expected, domain.ErrConflict)
}

// ReadStream returns the stream's records with Version > after, in version
// order. A stream that does not exist is empty, not an error. It returns an
// error when the server fails or an event does not decode as a Record.
func (s *Store) ReadStream(ctx context.Context, stream domain.StreamID, after domain.Version) ([]domain.Record, error) {
	recs, err := s.readRecords(ctx, s.name(stream), streamFrom(after), math.MaxInt64)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	return recs, nil
}

// readRecords reads count events of the named stream forwards from a
// position. A missing stream reads as empty.
func (s *Store) readRecords(ctx context.Context, name string, from esdb.StreamPosition, count uint64) ([]domain.Record, error) {
	return s.readDirection(ctx, name, esdb.Forwards, from, count)
}

// readDirection reads count events of the named stream from a position in
// a direction. A missing stream reads as empty.
func (s *Store) readDirection(ctx context.Context, name string, dir esdb.Direction, from esdb.StreamPosition, count uint64) ([]domain.Record, error) {
	opts := esdb.ReadStreamOptions{Direction: dir, From: from}
	rs, err := s.client.ReadStream(ctx, name, opts, count)
	if err != nil {
		return nil, readError(ctx, err)
	}
	defer rs.Close()
	var out []domain.Record
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, readError(ctx, err)
		}
		e := ev.OriginalEvent()
		if e == nil {
			continue
		}
		stream, ok := s.streamOf(e.StreamID)
		if !ok {
			return nil, fmt.Errorf("stream %q read as %q", name, e.StreamID)
		}
		r, err := fromRecorded(stream, e)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
}

// readError maps a read's error. A missing stream is no error: it maps to
// nil, so that the caller returns what it read, which is nothing.
func readError(ctx context.Context, err error) error {
	err = mapError(ctx, err)
	if errors.Is(err, errStreamNotFound) {
		return nil
	}
	return err
}

// ReadAll returns at most limit records of the global log ($all) with
// Position > after, in order, skipping KurrentDB's system events and
// Kaiku's internal streams. after must be 0 or a Position this store
// returned. KurrentDB's single writer makes $all final in order: an event
// is readable only after every event before it, so a reader that passes
// the last Position it saw never skips one that commits late.
func (s *Store) ReadAll(ctx context.Context, after domain.Position, limit int) ([]domain.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	last := esdb.Position{Commit: uint64(max(after, 0)), Prepare: uint64(max(after, 0))}
	from := fromPosition(after)
	if comparePositions(last, s.floor) < 0 {
		last, from = s.floor, s.floor
	}
	var out []domain.Record
	for len(out) < limit {
		// One more than still wanted, in case the server includes the
		// event at from itself; at least 64 so that skipped system events
		// do not cost a round trip each.
		count := uint64(max(min(limit-len(out), maxReadPage-1)+1, 64))
		rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{From: from}, count)
		if err != nil {
			return nil, fmt.Errorf("read $all after %d: %w", after, mapError(ctx, err))
		}
		n, err := s.readPage(rs, &last, &out, limit)
		rs.Close()
		if err != nil {
			return nil, fmt.Errorf("read $all after %d: %w", after, mapError(ctx, err))
		}
		if n < count {
			break // the end of $all, or out is full
		}
		from = last
	}
	return out, nil
}

// readPage appends the Kaiku events of one $all page that lie after last
// to out, up to limit, advancing last past every event seen. It returns
// how many events it read from the page.
func (s *Store) readPage(rs *esdb.ReadStream, last *esdb.Position, out *[]domain.Record, limit int) (uint64, error) {
	var n uint64
	for len(*out) < limit {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
		r, ok, err := s.accept(ev, last)
		if err != nil {
			return n, err
		}
		if ok {
			*out = append(*out, r)
		}
	}
	return n, nil
}

// accept decodes an event of $all that lies after last and belongs to
// Kaiku's log, advancing last; it reports false for events to skip
// (at or before last, system events, other scopes, internal streams).
func (s *Store) accept(ev *esdb.ResolvedEvent, last *esdb.Position) (domain.Record, bool, error) {
	e := ev.OriginalEvent()
	if e == nil || comparePositions(e.Position, *last) <= 0 {
		return domain.Record{}, false, nil
	}
	*last = e.Position
	if isSystem(e) {
		return domain.Record{}, false, nil
	}
	stream, ok := s.streamOf(e.StreamID)
	if !ok {
		return domain.Record{}, false, nil
	}
	r, err := fromRecorded(stream, e)
	return r, err == nil, err
}

// name is the KurrentDB stream name of a Kaiku stream.
func (s *Store) name(stream domain.StreamID) string { return s.prefix + string(stream) }

// streamOf is the Kaiku stream of a KurrentDB stream name, or false for a
// stream outside this store's scope or internal to Kaiku.
func (s *Store) streamOf(name string) (domain.StreamID, bool) {
	rest, ok := strings.CutPrefix(name, s.prefix)
	if !ok || strings.HasPrefix(rest, InternalStreamPrefix) || strings.HasPrefix(rest, "$") {
		return "", false
	}
	return domain.StreamID(rest), true
}

// checkStream refuses stream names that are not Kaiku's to append to.
func checkStream(stream domain.StreamID) error {
	switch s := string(stream); {
	case s == "":
		return fmt.Errorf("append: empty stream name")
	case strings.HasPrefix(s, "$"):
		return fmt.Errorf("append to %s: $-streams are KurrentDB's own", s)
	case strings.HasPrefix(s, InternalStreamPrefix):
		return fmt.Errorf("append to %s: %s streams are internal to Kaiku", s, InternalStreamPrefix)
	}
	return nil
}
