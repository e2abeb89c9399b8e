package postgres

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/domain"
)

// MaxEventsPerTransaction is how many events one transaction may append: a
// position keeps the low 20 bits for the event's index in its transaction.
const MaxEventsPerTransaction = 1<<20 - 1

// ErrTooManyEvents is returned when one transaction would append more than
// MaxEventsPerTransaction events. Split the import into several batches.
var ErrTooManyEvents = fmt.Errorf("more than %d events in one transaction", MaxEventsPerTransaction)

// anyVersionRetries bounds how often an AnyVersion append retries after
// losing a race for the stream's next version.
const anyVersionRetries = 1000

// Store is the event log on PostgreSQL (table events, migrations 0001 and
// 0002). It implements domain.EventStore and domain.AppendNotifier.
//
// A record's position is ((appending transaction id + epoch) << 20) + its
// index in that transaction, so appends never serialise behind a shared
// counter. The epoch (kaiku_xid_position, migration 0009) keeps positions
// growing across a restore into another cluster: Migrate raises it when the
// log is ahead of the cluster's transaction ids.
// ReadAll returns only positions below the oldest transaction still running
// (pg_snapshot_xmin), where no commit can land any more: a reader never
// skips an event that commits late, and never sees one that rolls back.
//
// The fence is cluster wide: a transaction left open anywhere on the server
// (in any database) holds readers back until it ends. It never makes them
// skip or repeat an event.
type Store struct {
	pool *pgxpool.Pool
	n    *notifier
	// insertBatches makes AppendBatch use the one-statement INSERT instead
	// of COPY (measured slower for 100-event batches); kept for the
	// benchmark and contract run that compare the two.
	insertBatches bool
}

// NewStore returns a store on pool. The schema must be migrated (Migrate).
// Call Close when done with it, to stop its notification listener.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, n: newNotifier(pool)}
}

// ConfigureStorePool tunes a pool configuration for the store: it makes
// PostgreSQL reuse one generic plan per prepared statement. By default it
// plans a statement with array parameters afresh on every call, and for the
// append statement that planning costs several times the insert and its
// commit (measured: single appends went from about 0.2x to 0.7x the rate of
// a plain single-row INSERT). It suits the store's other queries too; use a
// pool of its own for the store if other queries rely on custom plans.
func ConfigureStorePool(cfg *pgxpool.Config) {
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
}

var _ domain.EventStore = (*Store)(nil)
var _ domain.AppendNotifier = (*Store)(nil)

// Append appends records to stream in one statement, checking expected
// version (domain.NoStream, domain.AnyVersion or the stream's version).
//
// It returns an error wrapping domain.ErrConflict, and stores nothing, when
// the stream is not at expected version, when another append takes the same
// versions first, or when some of the event ids were already appended
// elsewhere. When every id was already appended to this stream it stores
// nothing and returns the records as first stored (an idempotent retry).
// AnyVersion appends at the stream's head, retrying internally when a
// concurrent append wins the race. It returns ErrTooManyEvents past
// MaxEventsPerTransaction records. RecordedAt is the database's clock at
// the start of the appending transaction.
func (s *Store) Append(ctx context.Context, stream domain.StreamID, expected domain.Version, records ...domain.Record) ([]domain.Record, error) {
	if len(records) == 0 {
		return nil, nil
	}
	return s.appendAll(ctx, []domain.StreamAppend{{Stream: stream, Expected: expected, Records: records}}, false)
}

// AppendBatch appends to several streams in one transaction, by COPY after
// checking every stream's version: all of it is stored or none. Each part is checked as Append checks it; a stream may
// appear only once. When every id of the batch was already appended to its
// stream, it stores nothing and returns the records as first stored; any
// other mismatch is an error wrapping domain.ErrConflict.
func (s *Store) AppendBatch(ctx context.Context, batch []domain.StreamAppend) ([]domain.Record, error) {
	return s.appendAll(ctx, batch, !s.insertBatches)
}

// AppendTx appends records to stream inside the caller's transaction, with
// the same statement and checks as Append, and returns them with positions
// and versions assigned (valid once tx commits). Several calls may share one
// transaction, up to MaxEventsPerTransaction events in all.
//
// It returns an error wrapping domain.ErrConflict when the expected version
// does not match, when a concurrent append took the version, or when the
// stream's head was appended by a transaction that started writing after tx
// did (global order must follow version order: retry in a new
// transaction). A unique violation aborts tx; AppendTx does not detect
// idempotent retries and does not wake waiting readers (they poll).
func (s *Store) AppendTx(ctx context.Context, tx pgx.Tx, stream domain.StreamID, expected domain.Version, records ...domain.Record) ([]domain.Record, error) {
	if len(records) == 0 {
		return nil, nil
	}
	a, err := newAppendArgs([]domain.StreamAppend{{Stream: stream, Expected: expected, Records: records}})
	if err != nil {
		return nil, err
	}
	out, err := a.insert(ctx, tx)
	switch {
	case errors.Is(err, errNotAtVer):
		return nil, fmt.Errorf("append to %s: stream not at version %d, or its head was appended by a younger transaction: %w",
			stream, expected, domain.ErrConflict)
	case errors.Is(err, errIDTaken), errors.Is(err, errLostRace):
		return nil, fmt.Errorf("append to %s: %v: %w", stream, err, domain.ErrConflict)
	}
	return out, err
}

// errIDTaken and errLostRace are internal causes, resolved by diagnose.
var (
	errIDTaken  = errors.New("event id already appended")
	errLostRace = errors.New("a concurrent append took the version")
	errNotAtVer = errors.New("stream not at expected version")
)

func (s *Store) appendAll(ctx context.Context, batch []domain.StreamAppend, useCopy bool) ([]domain.Record, error) {
	a, err := newAppendArgs(batch)
	if err != nil {
		return nil, err
	}
	if len(a.out) == 0 {
		return nil, nil
	}
	for attempt := 0; ; attempt++ {
		var out []domain.Record
		switch {
		case useCopy:
			out, err = a.copy(ctx, s.pool)
		case len(a.out) == 1:
			out, err = a.insertOne(ctx, s.pool)
		default:
			out, err = a.insert(ctx, s.pool)
		}
		switch {
		case err == nil:
			s.n.appended(ctx)
			return out, nil
		case errors.Is(err, errLostRace) && a.anyVersion && attempt < anyVersionRetries && ctx.Err() == nil:
			continue
		case errors.Is(err, errIDTaken), errors.Is(err, errLostRace), errors.Is(err, errNotAtVer):
			return s.diagnose(ctx, a, err)
		default:
			return nil, err
		}
	}
}

// appendArgs is one append's records as column arrays, ready for either
// the INSERT ... SELECT FROM unnest statement or COPY.
type appendArgs struct {
	streams    []string // one per StreamAppend
	expected   []int64
	anyVersion bool // some part appends at AnyVersion

	rowStream   []string // one per record from here on
	rowOffset   []int64  // 1-based index within its stream's part
	ids         []string
	types       []string
	schemas     []int32
	occurred    []time.Time
	principals  []string
	correlation []string
	causation   []string
	data        []json.RawMessage
	personal    []json.RawMessage
	subjects    []string

	out []domain.Record // the records to return, Version/Position/RecordedAt to fill
}

func newAppendArgs(batch []domain.StreamAppend) (*appendArgs, error) {
	n := 0
	for _, p := range batch {
		n += len(p.Records)
	}
	if n > MaxEventsPerTransaction {
		return nil, fmt.Errorf("append %d events: %w", n, ErrTooManyEvents)
	}
	a := &appendArgs{
		streams: make([]string, 0, len(batch)), expected: make([]int64, 0, len(batch)),
		rowStream: make([]string, 0, n), rowOffset: make([]int64, 0, n), ids: make([]string, 0, n),
		types: make([]string, 0, n), schemas: make([]int32, 0, n), occurred: make([]time.Time, 0, n),
		principals: make([]string, 0, n), correlation: make([]string, 0, n), causation: make([]string, 0, n),
		data: make([]json.RawMessage, 0, n), personal: make([]json.RawMessage, 0, n), subjects: make([]string, 0, n),
		out: make([]domain.Record, 0, n),
	}
	var seenStreams map[domain.StreamID]bool
	var seenIDs map[domain.EventID]bool
	if len(batch) > 1 {
		seenStreams = make(map[domain.StreamID]bool, len(batch))
	}
	if n > 1 {
		seenIDs = make(map[domain.EventID]bool, n)
	}
	for _, p := range batch {
		if p.Stream == "" {
			return nil, errors.New("append: empty stream id")
		}
		if p.Expected < domain.AnyVersion {
			return nil, fmt.Errorf("append to %s: expected version %d is neither a version, NoStream nor AnyVersion", p.Stream, p.Expected)
		}
		if len(p.Records) == 0 {
			continue
		}
		if seenStreams != nil {
			if seenStreams[p.Stream] {
				return nil, fmt.Errorf("append batch: stream %s appears twice; merge its parts", p.Stream)
			}
			seenStreams[p.Stream] = true
		}
		if p.Expected == domain.AnyVersion {
			a.anyVersion = true
		}
		a.streams = append(a.streams, string(p.Stream))
		a.expected = append(a.expected, int64(p.Expected))
		for i, r := range p.Records {
			if err := checkRecord(r); err != nil {
				return nil, fmt.Errorf("append to %s: record %d: %w", p.Stream, i, err)
			}
			if seenIDs != nil {
				if seenIDs[r.ID] {
					return nil, fmt.Errorf("append to %s: event id %s appears twice in one append", p.Stream, r.ID)
				}
				seenIDs[r.ID] = true
			}
			r.Stream = p.Stream
			r.OccurredAt = r.OccurredAt.Truncate(time.Microsecond) // what PostgreSQL keeps
			a.rowStream = append(a.rowStream, string(p.Stream))
			a.rowOffset = append(a.rowOffset, int64(i+1))
			a.ids = append(a.ids, string(r.ID))
			a.types = append(a.types, r.Type)
			a.schemas = append(a.schemas, int32(r.SchemaVersion))
			a.occurred = append(a.occurred, r.OccurredAt)
			a.principals = append(a.principals, r.Principal.String())
			a.correlation = append(a.correlation, string(r.CorrelationID))
			a.causation = append(a.causation, string(r.CausationID))
			a.data = append(a.data, r.Data)
			a.personal = append(a.personal, r.Personal)
			a.subjects = append(a.subjects, r.Subject)
			a.out = append(a.out, r)
		}
	}
	return a, nil
}

func checkRecord(r domain.Record) error {
	switch {
	case r.ID == "":
		return errors.New("no event id")
	case r.Type == "":
		return errors.New("no event type")
	case r.SchemaVersion < 1:
		return fmt.Errorf("schema version %d is not >= 1", r.SchemaVersion)
	case len(r.Data) == 0:
		return errors.New("no data")
	case r.OccurredAt.IsZero():
		return errors.New("no occurredAt")
	}
	return nil
}

// appendSQL appends every record of one append or batch in one statement
// (kaiku_append, migration 0002). It assigns positions above the
// transaction's id, continuing after rows the same transaction appended
// before, and versions after each stream's head. It inserts nothing unless
// every stream is at its expected version and no stream's head was appended
// by a younger transaction.
const appendSQL = `SELECT out_position, out_version, out_recorded_at
FROM kaiku_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`

// appendOneSQL is appendSQL for the common case of one stream, written so
// that PostgreSQL plans it quickly: a prepared statement with parameters is
// planned afresh on every call, and the general statement's plan costs more
// than its execution.
const appendOneSQL = `
INSERT INTO events (position, event_id, stream, version, type, schema_version, occurred_at,
    principal, correlation_id, causation_id, data, personal, personal_subject)
SELECT b.base + b.n + r.ord, r.id::uuid, $1, h.version + r.ord, r.type, r.schema_version, r.occurred_at,
    r.principal, nullif(r.correlation_id, '')::uuid, nullif(r.causation_id, '')::uuid, r.data, r.personal, nullif(r.subject, '')
FROM (
    SELECT x.base, coalesce((SELECT max(e.position) FROM events e
        WHERE e.position > x.base AND e.position < x.base + 1048576), x.base) - x.base AS n
    FROM (SELECT kaiku_xid_position(pg_current_xact_id()) AS base OFFSET 0) x
) b, (
    SELECT coalesce(max(e.version), 0) AS version, coalesce(max(e.position), 0) AS position
    FROM (SELECT e.version, e.position FROM events e WHERE e.stream = $1 ORDER BY e.version DESC LIMIT 1) e
) h,
    unnest($4::text[], $5::text[], $6::int[], $7::timestamptz[], $8::text[], $9::text[], $10::text[],
        $11::json[], $12::json[], $13::text[])
        WITH ORDINALITY AS r(id, type, schema_version, occurred_at, principal, correlation_id, causation_id,
            data, personal, subject, ord)
WHERE ($2 = -1 OR $2 = h.version) AND h.position < b.base + 1048576
    AND CASE WHEN b.n + $3 > 1048575 THEN kaiku_too_many_events(b.n + $3) ELSE true END
RETURNING position, version, recorded_at`

// appendSingleSQL appends one record in a transaction of its own (the most
// common append: one command, one event). With no arrays to unnest and no
// earlier appends of the same transaction to count, PostgreSQL plans and
// runs it about as cheaply as a plain INSERT. Its transaction gets its id in
// this statement, after its snapshot was taken, so the stream's head it
// reads was appended by an older transaction and version order follows
// global order without the younger-head check of appendSQL.
const appendSingleSQL = `
INSERT INTO events (position, event_id, stream, version, type, schema_version, occurred_at,
    principal, correlation_id, causation_id, data, personal, personal_subject)
SELECT kaiku_xid_position(pg_current_xact_id()) + 1, $3::uuid, $1, h.version + 1, $4, $5, $6,
    $7, nullif($8, '')::uuid, nullif($9, '')::uuid, $10, $11, nullif($12, '')
FROM (SELECT coalesce(max(e.version), 0) AS version FROM events e WHERE e.stream = $1) h
WHERE $2 = -1 OR $2 = h.version
RETURNING position, version, recorded_at`

// insertOne appends a.out[0] by appendSingleSQL, in its own transaction
// (db must be a pool, never a caller's transaction).
func (a *appendArgs) insertOne(ctx context.Context, db *pgxpool.Pool) ([]domain.Record, error) {
	var personal any
	if len(a.personal[0]) > 0 {
		personal = []byte(a.personal[0])
	}
	var as assigned
	err := db.QueryRow(ctx, appendSingleSQL, a.streams[0], a.expected[0], a.ids[0], a.types[0], a.schemas[0],
		a.occurred[0], a.principals[0], a.correlation[0], a.causation[0], []byte(a.data[0]), personal, a.subjects[0]).
		Scan(&as.position, &as.version, &as.recordedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotAtVer
	}
	if err != nil {
		return nil, appendError(err)
	}
	out := a.out
	out[0].Position = domain.Position(as.position)
	out[0].Version = domain.Version(as.version)
	out[0].RecordedAt = as.recordedAt
	return out, nil
}

type assigned struct {
	position   int64
	version    int64
	recordedAt time.Time
}

func (a *appendArgs) insert(ctx context.Context, q Querier) ([]domain.Record, error) {
	var rows pgx.Rows
	var err error
	if len(a.streams) == 1 {
		rows, err = q.Query(ctx, appendOneSQL, a.streams[0], a.expected[0], int64(len(a.out)),
			a.ids, a.types, a.schemas, a.occurred, a.principals,
			a.correlation, a.causation, a.data, a.personal, a.subjects)
	} else {
		rows, err = q.Query(ctx, appendSQL, a.streams, a.expected, int64(len(a.out)),
			a.rowStream, a.rowOffset, a.ids, a.types, a.schemas, a.occurred, a.principals,
			a.correlation, a.causation, a.data, a.personal, a.subjects)
	}
	if err != nil {
		return nil, appendError(err)
	}
	got := make([]assigned, 0, len(a.out))
	var as assigned
	_, err = pgx.ForEachRow(rows, []any{&as.position, &as.version, &as.recordedAt}, func() error {
		got = append(got, as)
		return nil
	})
	if err != nil {
		return nil, appendError(err)
	}
	if len(got) == 0 {
		return nil, errNotAtVer
	}
	if len(got) != len(a.out) {
		return nil, fmt.Errorf("append: stored %d of %d records", len(got), len(a.out))
	}
	// Positions grow with the records' order in the statement.
	slices.SortFunc(got, func(x, y assigned) int { return int(x.position - y.position) })
	out := a.out
	for i := range out {
		out[i].Position = domain.Position(got[i].position)
		out[i].Version = domain.Version(got[i].version)
		out[i].RecordedAt = got[i].recordedAt
	}
	return out, nil
}

// copyHeadsSQL starts a COPY append: it assigns the transaction id and reads
// every stream's head in the same statement (so every head it sees belongs
// to an older transaction), and the recorded_at the rows will default to.
const copyHeadsSQL = `
WITH tx AS MATERIALIZED (
    SELECT kaiku_xid_position(pg_current_xact_id()) AS base
)
SELECT tx.base,
    coalesce((SELECT max(e.position) FROM events e
        WHERE e.position > tx.base AND e.position < tx.base + 1048576), tx.base) - tx.base,
    now(),
    ARRAY(SELECT coalesce((SELECT e.version FROM events e WHERE e.stream = s.stream ORDER BY e.version DESC LIMIT 1), 0)
        FROM unnest($1::text[]) WITH ORDINALITY AS s(stream, i) ORDER BY s.i)
FROM tx`

var copyColumns = []string{"position", "event_id", "stream", "version", "type", "schema_version", "occurred_at",
	"principal", "correlation_id", "causation_id", "data", "personal", "personal_subject"}

func (a *appendArgs) copy(ctx context.Context, pool *pgxpool.Pool) (out []domain.Record, err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("append: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
		}
	}()
	var base, used int64
	var now time.Time
	var heads []int64
	if err := tx.QueryRow(ctx, copyHeadsSQL, a.streams).Scan(&base, &used, &now, &heads); err != nil {
		return nil, appendError(err)
	}
	if used+int64(len(a.out)) > MaxEventsPerTransaction {
		return nil, fmt.Errorf("append %d events after %d: %w", len(a.out), used, ErrTooManyEvents)
	}
	headOf := make(map[string]int64, len(a.streams))
	for i, st := range a.streams {
		if a.expected[i] != int64(domain.AnyVersion) && a.expected[i] != heads[i] {
			return nil, errNotAtVer
		}
		headOf[st] = heads[i]
	}
	out = a.out
	for i := range out {
		out[i].Position = domain.Position(base + used + int64(i) + 1)
		out[i].Version = domain.Version(headOf[a.rowStream[i]] + a.rowOffset[i])
		out[i].RecordedAt = now
	}
	src := &copySource{a: a, row: make([]any, len(copyColumns)), i: -1}
	if _, err = tx.CopyFrom(ctx, pgx.Identifier{"events"}, copyColumns, src); err != nil {
		return nil, appendError(err)
	}
	if err = tx.Commit(ctx); err != nil {
		return nil, appendError(err)
	}
	return out, nil
}

type copySource struct {
	a   *appendArgs
	row []any
	i   int
	err error
}

func (c *copySource) Next() bool { c.i++; return c.i < len(c.a.out) }
func (c *copySource) Err() error { return c.err }
func (c *copySource) Values() ([]any, error) {
	a, i, r := c.a, c.i, c.a.out[c.i]
	id, err := parseUUID(a.ids[i])
	if err != nil {
		return nil, err
	}
	corr, err := parseUUID(a.correlation[i])
	if err != nil {
		return nil, err
	}
	caus, err := parseUUID(a.causation[i])
	if err != nil {
		return nil, err
	}
	var subject pgtype.Text
	if a.subjects[i] != "" {
		subject = pgtype.Text{String: a.subjects[i], Valid: true}
	}
	c.row[0] = int64(r.Position)
	c.row[1] = id
	c.row[2] = a.rowStream[i]
	c.row[3] = int64(r.Version)
	c.row[4] = a.types[i]
	c.row[5] = a.schemas[i]
	c.row[6] = a.occurred[i]
	c.row[7] = a.principals[i]
	c.row[8] = corr
	c.row[9] = caus
	c.row[10] = []byte(a.data[i])
	c.row[11] = []byte(a.personal[i])
	c.row[12] = subject
	return c.row, nil
}

func parseUUID(s string) (pgtype.UUID, error) {
	if s == "" {
		return pgtype.UUID{}, nil
	}
	var u pgtype.UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("event id %q is not a UUID", s)
	}
	var h [32]byte
	copy(h[0:8], s[0:8])
	copy(h[8:12], s[9:13])
	copy(h[12:16], s[14:18])
	copy(h[16:20], s[19:23])
	copy(h[20:32], s[24:36])
	if _, err := hex.Decode(u.Bytes[:], h[:]); err != nil {
		return u, fmt.Errorf("event id %q is not a UUID", s)
	}
	u.Valid = true
	return u, nil
}

// appendError maps PostgreSQL errors of an append to the store's causes.
func appendError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505" && pgErr.ConstraintName == "events_event_id_key":
			return errIDTaken
		case pgErr.Code == "23505" && pgErr.ConstraintName == "events_stream_version_key":
			return errLostRace
		case pgErr.Code == "54000" && strings.HasPrefix(pgErr.Message, "kaiku:"):
			return fmt.Errorf("append: %s: %w", pgErr.Message, ErrTooManyEvents)
		}
	}
	return fmt.Errorf("append: %w", err)
}

// diagnose runs after an append stored nothing: it returns the stored
// records when the append was an exact retry, else a conflict saying why.
func (s *Store) diagnose(ctx context.Context, a *appendArgs, cause error) ([]domain.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM events WHERE event_id = ANY($1::text[]::uuid[])`,
		binaryColumns, a.ids)
	if err != nil {
		return nil, fmt.Errorf("append: check for a retry: %w", err)
	}
	stored, err := scanRecords(rows, nil)
	if err != nil {
		return nil, fmt.Errorf("append: check for a retry: %w", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT coalesce((SELECT max(e.version) FROM events e WHERE e.stream = u.s), 0)
		FROM unnest($1::text[]) WITH ORDINALITY AS u(s, i) ORDER BY u.i`, a.streams)
	if err != nil {
		return nil, fmt.Errorf("append: read stream versions: %w", err)
	}
	heads, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("append: read stream versions: %w", err)
	}
	if len(stored) == len(a.out) {
		byID := make(map[domain.EventID]domain.Record, len(stored))
		for _, r := range stored {
			byID[r.ID] = r
		}
		out := make([]domain.Record, 0, len(a.out))
		for _, want := range a.out {
			got, ok := byID[domain.EventID(strings.ToLower(string(want.ID)))]
			if !ok || got.Stream != want.Stream {
				break
			}
			out = append(out, got)
		}
		if len(out) == len(a.out) {
			return out, nil
		}
	}
	if len(stored) > 0 {
		r := stored[0]
		return nil, fmt.Errorf("append: event %s was already appended to %s at version %d, and this append is not an exact retry: %w",
			r.ID, r.Stream, r.Version, domain.ErrConflict)
	}
	for i, st := range a.streams {
		if a.expected[i] != int64(domain.AnyVersion) && a.expected[i] != heads[i] {
			return nil, fmt.Errorf("append to %s: expected version %d, stream is at %d: %w", st, a.expected[i], heads[i], domain.ErrConflict)
		}
	}
	if errors.Is(cause, errNotAtVer) {
		return nil, fmt.Errorf("append: a stream's head was appended by a younger transaction; retry in a new one: %w", domain.ErrConflict)
	}
	return nil, fmt.Errorf("append: %v: %w", cause, domain.ErrConflict)
}

// recordColumns are the columns scanRecords decodes, in its order.
const recordColumns = `position, event_id, stream, version, type, schema_version, occurred_at, recorded_at,
	principal, correlation_id, causation_id, data, personal, personal_subject`

// binaryColumns asks for every record column in binary format, which
// scanRecords decodes by hand.
var binaryColumns = pgx.QueryResultFormats{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}

// ReadStream returns stream's records with Version > after, in version
// order. A stream that does not exist is empty, not an error. Versions of a
// stream are committed without holes, so no fence is needed.
func (s *Store) ReadStream(ctx context.Context, stream domain.StreamID, after domain.Version) ([]domain.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM events
		WHERE stream = $1 AND version > $2 ORDER BY version`, binaryColumns, string(stream), int64(after))
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	out, err := scanRecords(rows, nil)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	return out, nil
}

// fenceSQL is the first position a reader may not return yet: every
// transaction id below the oldest one still running is final. Readers and
// the chainer all fence with it.
const fenceSQL = `kaiku_xid_position(pg_snapshot_xmin(pg_current_snapshot()))`

// ReadAll returns at most limit records with Position > after, in global
// order, stopping before the first position that an open transaction could
// still fill. Passing the last position seen to the next call reads every
// committed event exactly once. A limit <= 0 returns nothing.
func (s *Store) ReadAll(ctx context.Context, after domain.Position, limit int) ([]domain.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM events
		WHERE position > $1 AND position < `+fenceSQL+`
		ORDER BY position LIMIT $2`, binaryColumns, int64(after), int64(limit))
	if err != nil {
		return nil, fmt.Errorf("read all after %d: %w", after, err)
	}
	out, err := scanRecords(rows, make([]domain.Record, 0, min(limit, 4096)))
	if err != nil {
		return nil, fmt.Errorf("read all after %d: %w", after, err)
	}
	return out, nil
}

// Head returns the highest position ReadAll can return now, or 0 when the
// log is empty; a reader's lag is Head minus its last position.
func (s *Store) Head(ctx context.Context) (domain.Position, error) {
	var p int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM events WHERE position < `+fenceSQL).Scan(&p); err != nil {
		return 0, fmt.Errorf("read log head: %w", err)
	}
	return domain.Position(p), nil
}

// scanRecords decodes rows of recordColumns in binary format, appending to
// out. Payloads of one call share one buffer, and repeated type names and
// principals are decoded once, to keep allocations per row low.
func scanRecords(rows pgx.Rows, out []domain.Record) ([]domain.Record, error) {
	defer rows.Close()
	var d decoder
	checked := false
	for rows.Next() {
		if !checked {
			fields := rows.FieldDescriptions()
			if len(fields) != 14 {
				return nil, fmt.Errorf("decode event: %d columns, want 14", len(fields))
			}
			for _, f := range fields {
				if f.Format != pgtype.BinaryFormatCode {
					return nil, fmt.Errorf("decode event: column %s is not in binary format", f.Name)
				}
			}
			checked = true
		}
		r, err := d.record(rows.RawValues())
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

type decoder struct {
	names      map[string]string
	principals map[string]domain.Principal
	buf        []byte
}

func (d *decoder) record(v [][]byte) (domain.Record, error) {
	var r domain.Record
	var err error
	if r.Position, err = decodeInt8[domain.Position](v[0], "position"); err != nil {
		return r, err
	}
	if r.ID, err = decodeUUID(v[1], "event_id"); err != nil {
		return r, err
	}
	r.Stream = domain.StreamID(v[2])
	if r.Version, err = decodeInt8[domain.Version](v[3], "version"); err != nil {
		return r, err
	}
	r.Type = d.name(v[4])
	if len(v[5]) != 4 {
		return r, errors.New("decode event: bad schema_version")
	}
	r.SchemaVersion = int(int32(binary.BigEndian.Uint32(v[5])))
	if r.OccurredAt, err = decodeTime(v[6], "occurred_at"); err != nil {
		return r, err
	}
	if r.RecordedAt, err = decodeTime(v[7], "recorded_at"); err != nil {
		return r, err
	}
	if r.Principal, err = d.principal(v[8]); err != nil {
		return r, err
	}
	if v[9] != nil {
		if r.CorrelationID, err = decodeUUID(v[9], "correlation_id"); err != nil {
			return r, err
		}
	}
	if v[10] != nil {
		if r.CausationID, err = decodeUUID(v[10], "causation_id"); err != nil {
			return r, err
		}
	}
	r.Data = d.bytes(v[11])
	if v[12] != nil {
		r.Personal = d.bytes(v[12])
	}
	if v[13] != nil {
		r.Subject = string(v[13])
	}
	return r, nil
}

func decodeInt8[T ~int64](b []byte, col string) (T, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("decode event: bad %s", col)
	}
	return T(int64(binary.BigEndian.Uint64(b))), nil
}

// pgEpochMicros is 2000-01-01 UTC, PostgreSQL's timestamp epoch, in Unix µs.
const pgEpochMicros = 946_684_800_000_000

func decodeTime(b []byte, col string) (time.Time, error) {
	us, err := decodeInt8[int64](b, col)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(us + pgEpochMicros).UTC(), nil
}

func decodeUUID(b []byte, col string) (domain.EventID, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("decode event: bad %s", col)
	}
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return domain.EventID(s[:]), nil
}

func (d *decoder) name(b []byte) string {
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	if d.names == nil {
		d.names = make(map[string]string)
	}
	s := string(b)
	d.names[s] = s
	return s
}

func (d *decoder) principal(b []byte) (domain.Principal, error) {
	if p, ok := d.principals[string(b)]; ok {
		return p, nil
	}
	p, err := domain.ParsePrincipal(string(b))
	if err != nil {
		return p, fmt.Errorf("decode event: %w", err)
	}
	if d.principals == nil {
		d.principals = make(map[string]domain.Principal)
	}
	d.principals[string(b)] = p
	return p, nil
}

// bytes copies b into the shared buffer; the result's capacity ends at its
// length, so appending to it never overwrites a neighbour.
func (d *decoder) bytes(b []byte) json.RawMessage {
	if len(b) > cap(d.buf)-len(d.buf) {
		d.buf = make([]byte, 0, max(64<<10, len(b)))
	}
	start := len(d.buf)
	d.buf = append(d.buf, b...)
	return json.RawMessage(d.buf[start:len(d.buf):len(d.buf)])
}
