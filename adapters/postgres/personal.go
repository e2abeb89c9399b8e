package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
	"github.com/kaiku/kaiku/domain/personal"
)

// PersonalData erases and exports one subject's personal data in the
// PostgreSQL log and in every copy the database holds of it, and seals the
// personal parts still stored in plain text.
//
// Read models keep personal data only in columns named name, email and
// phone of a table that has a subject column; erasure nulls them in every
// such table of every schema (every read-model version), so a read model
// that follows the convention needs no code here.
type PersonalData struct {
	pool  *pgxpool.Pool
	store *Store
}

// NewPersonalData returns the service on store, which must seal personal
// parts (Store.SealPersonal) and use pool.
func NewPersonalData(pool *pgxpool.Pool, store *Store) *PersonalData {
	return &PersonalData{pool: pool, store: store}
}

// Keyring returns the store's keyring (nil without a master key).
func (p *PersonalData) Keyring() *Keyring { return p.store.keys }

// ErrNoKeyring is returned when the store seals nothing.
var ErrNoKeyring = errors.New("personal data: the store has no keyring (no master key configured)")

// SealPlain seals every personal part the log still holds in plain text
// (written before sealing existed), pageSize events per transaction, and
// returns how many it sealed. The digest each part was chained with is
// kept in personal_digests in the same transaction, so the chain still
// verifies. Parts without a subject are left as they are and counted in
// skipped. It is idempotent and safe to run while the service appends.
func (p *PersonalData) SealPlain(ctx context.Context, pageSize int) (sealed, skipped int, err error) {
	k := p.store.keys
	if k == nil {
		return 0, 0, ErrNoKeyring
	}
	if pageSize <= 0 {
		pageSize = 500
	}
	after := int64(-1 << 63)
	for {
		var n int
		err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT position, coalesce(personal_subject, ''), personal::text FROM events
				WHERE personal IS NOT NULL AND position > $1 ORDER BY position LIMIT $2 FOR UPDATE`, after, pageSize)
			if err != nil {
				return err
			}
			type part struct {
				pos     int64
				subject string
				plain   string
			}
			parts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (part, error) {
				var x part
				return x, r.Scan(&x.pos, &x.subject, &x.plain)
			})
			if err != nil {
				return err
			}
			n = len(parts)
			for _, x := range parts {
				after = x.pos
				if x.subject == "" {
					skipped++
					continue
				}
				text, err := k.seal(ctx, tx, x.subject, json.RawMessage(x.plain))
				if err != nil {
					return fmt.Errorf("event at %d: %w", x.pos, err)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO personal_digests (position, digest) VALUES ($1, $2)
					ON CONFLICT (position) DO NOTHING`, x.pos, audit.PersonalDigest([]byte(x.plain))); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE events SET personal = NULL, personal_sealed = $2 WHERE position = $1`,
					x.pos, []byte(sealedText(text))); err != nil {
					return err
				}
				sealed++
			}
			return nil
		})
		if err != nil {
			return sealed, skipped, fmt.Errorf("seal plain personal parts: %w", err)
		}
		if n < pageSize {
			return sealed, skipped, nil
		}
	}
}

// erasedMarker replaces a stored text that held erased personal data.
const erasedMarker = "[removed: held personal data erased on request]"

// Erase erases subject's personal data in one transaction: it destroys
// the subject's data key, removes every personal part of the subject from
// the log (keeping the digests the chain covers), appends personal.erased
// (subject, reason; who is md's principal), nulls the subject's personal
// columns in every read-model table of every schema, and replaces stored
// idempotency answers and parked-event errors that contain any of the
// erased values. A crash leaves all of it done or none.
//
// It returns an error wrapping domain.ErrNotFound when the log never held
// personal data of subject, and personal.ErrErased when it was erased
// already.
func (p *PersonalData) Erase(ctx context.Context, s personal.Subject, reason personal.Reason, md domain.Metadata) (personal.Erasure, error) {
	out := personal.Erasure{Subject: s, Reason: reason}
	rec, err := domain.Encode(personal.Erased{Subject: s, Reason: reason}, md)
	if err != nil {
		return out, err
	}
	err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var erasedAt *time.Time
		var hasKey bool
		err := tx.QueryRow(ctx, `SELECT true, erased_at FROM personal_keys WHERE subject = $1 FOR UPDATE`, string(s)).Scan(&hasKey, &erasedAt)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if erasedAt != nil {
			return fmt.Errorf("subject %s (erased %s): %w", s, erasedAt.UTC().Format(time.RFC3339), personal.ErrErased)
		}
		if !hasKey {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM events WHERE personal_subject = $1`, string(s)).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("personal data of subject %s: %w", s, domain.ErrNotFound)
			}
		}
		gone, err := p.removeParts(ctx, tx, s)
		if err != nil {
			return err
		}
		out.Parts = gone.n
		appended, err := p.store.AppendTx(ctx, tx, personal.Stream(s), domain.NoStream, rec)
		if err != nil {
			return fmt.Errorf("append personal.erased: %w", err)
		}
		out.Event = appended[0]
		out.ReadModelRows, out.IdempotencyRows, out.ParkedRows, err = p.scrub(ctx, tx, s, gone.values)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("erase %s: %w", s, err)
	}
	if p.store.keys != nil {
		p.store.keys.Forget(s)
	}
	return out, nil
}

// removed is what removeParts removed: how many parts, and their string
// values for scrubbing copies.
type removed struct {
	n      int
	values []string
}

// removeParts removes every personal part of subject from the log, keeping
// the digest of each plain part in personal_digests (a sealed part's is
// there since its append), and marks the subject's key erased (a subject
// that never had a key gets an erased row, so it never gets one).
func (p *PersonalData) removeParts(ctx context.Context, tx pgx.Tx, s personal.Subject) (removed, error) {
	var out removed
	parts, err := p.parts(ctx, tx, s, true)
	if err != nil {
		return out, err
	}
	for _, x := range parts {
		if x.plain {
			if _, err := tx.Exec(ctx, `INSERT INTO personal_digests (position, digest) VALUES ($1, $2)
				ON CONFLICT (position) DO NOTHING`, int64(x.Position), audit.PersonalDigest(x.Personal)); err != nil {
				return out, err
			}
		}
		out.values = append(out.values, personalValues(x.Personal)...)
	}
	tag, err := tx.Exec(ctx, `UPDATE events SET personal = NULL, personal_sealed = NULL
		WHERE personal_subject = $1 AND (personal IS NOT NULL OR personal_sealed IS NOT NULL)`, string(s))
	if err != nil {
		return out, err
	}
	out.n = int(tag.RowsAffected())
	if _, err := tx.Exec(ctx, `INSERT INTO personal_keys (subject, wrapped, master_fp, erased_at) VALUES ($1, NULL, $2, now())
		ON CONFLICT (subject) DO UPDATE SET wrapped = NULL, erased_at = coalesce(personal_keys.erased_at, now())`,
		string(s), p.fingerprint()); err != nil {
		return out, err
	}
	return out, nil
}

// scrub removes subject's data from read models, stored idempotent
// answers and parked events.
func (p *PersonalData) scrub(ctx context.Context, tx pgx.Tx, s personal.Subject, values []string) (readModels, idem, parked int64, err error) {
	if readModels, err = scrubReadModels(ctx, tx, s); err != nil {
		return 0, 0, 0, err
	}
	values = searchable(values)
	n, err := scrubReadModelValues(ctx, tx, values)
	if err != nil {
		return 0, 0, 0, err
	}
	readModels += n
	idem, parked, err = scrubCopies(ctx, tx, values)
	return readModels, idem, parked, err
}

// Reapply applies again every erasure the log records whose subject the
// database still holds (a restore from a backup taken before it): the
// subject's key is destroyed, its parts removed and its copies scrubbed.
// It returns how many subjects it erased again; kaiku serve runs it before
// serving. Finding none costs one query.
func (p *PersonalData) Reapply(ctx context.Context) (int, error) {
	rows, err := p.pool.Query(ctx, `SELECT DISTINCT x.data->>'subject' FROM events x
		WHERE x.type = 'personal.erased' AND (
			EXISTS (SELECT FROM events e WHERE e.personal_subject = x.data->>'subject'
				AND (e.personal IS NOT NULL OR e.personal_sealed IS NOT NULL))
			OR EXISTS (SELECT FROM personal_keys k WHERE k.subject = x.data->>'subject' AND k.wrapped IS NOT NULL))`)
	if err != nil {
		return 0, fmt.Errorf("find erased subjects still held: %w", err)
	}
	subjects, err := pgx.CollectRows(rows, pgx.RowTo[personal.Subject])
	if err != nil {
		return 0, fmt.Errorf("find erased subjects still held: %w", err)
	}
	for i, s := range subjects {
		err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
			r, err := p.removeParts(ctx, tx, s)
			if err != nil {
				return err
			}
			_, _, _, err = p.scrub(ctx, tx, s, r.values)
			return err
		})
		if err != nil {
			return i, fmt.Errorf("apply erasure of %s again: %w", s, err)
		}
		if p.store.keys != nil {
			p.store.keys.Forget(s)
		}
	}
	return len(subjects), nil
}

func (p *PersonalData) fingerprint() []byte {
	if p.store.keys != nil {
		return p.store.keys.fp
	}
	// A store without a keyring still records erasures; the fingerprint of
	// no key is sixteen zero bytes.
	return make([]byte, 16)
}

// part is a personal.Part and how it is stored.
type part struct {
	personal.Part
	plain bool // stored in plain text (not sealed)
}

// parts reads subject's personal parts in log order, opened; lock locks
// their rows.
func (p *PersonalData) parts(ctx context.Context, q Querier, s personal.Subject, lock bool) ([]part, error) {
	sql := `SELECT position, event_id::text, stream, version, type || '.v' || schema_version, occurred_at, recorded_at,
		principal, personal IS NOT NULL, coalesce(personal, to_json(convert_from(personal_sealed, 'UTF8')))::text
		FROM events WHERE personal_subject = $1 ORDER BY position`
	if lock {
		sql += ` FOR UPDATE`
	}
	rows, err := q.Query(ctx, sql, string(s))
	if err != nil {
		return nil, fmt.Errorf("read personal parts of %s: %w", s, err)
	}
	var parts []part
	var recs []domain.Record
	for rows.Next() {
		var x part
		var text *string
		if err := rows.Scan(&x.Position, &x.EventID, &x.Stream, &x.Version, &x.Event, &x.OccurredAt, &x.RecordedAt,
			&x.RecordedBy, &x.plain, &text); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read personal parts of %s: %w", s, err)
		}
		r := domain.Record{Position: x.Position, Subject: string(s)}
		if text != nil {
			r.Personal = json.RawMessage(*text)
		}
		parts, recs = append(parts, x), append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read personal parts of %s: %w", s, err)
	}
	if err := p.store.openRecords(ctx, q, recs); err != nil {
		return nil, err
	}
	for i := range parts {
		parts[i].Personal = recs[i].Personal
	}
	return parts, nil
}

// personalValues returns the string values of a personal part (a JSON
// object), which erasure searches for in stored copies.
func personalValues(part json.RawMessage) []string {
	var m map[string]any
	if json.Unmarshal(part, &m) != nil {
		return nil
	}
	var out []string
	for _, v := range m {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// scrubReadModels nulls name, email and phone of subject in every table
// of every schema that has a subject column next to any of them.
func scrubReadModels(ctx context.Context, tx pgx.Tx, s personal.Subject) (int64, error) {
	rows, err := tx.Query(ctx, `SELECT table_schema, table_name,
			array_agg(column_name::text ORDER BY column_name) FILTER (WHERE column_name IN ('name', 'email', 'phone'))
		FROM information_schema.columns
		WHERE column_name IN ('subject', 'name', 'email', 'phone')
			AND table_schema NOT IN ('pg_catalog', 'information_schema')
			AND (table_schema, table_name) IN (SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE')
		GROUP BY table_schema, table_name
		HAVING bool_or(column_name = 'subject') AND count(*) > 1`)
	if err != nil {
		return 0, fmt.Errorf("find read-model tables with personal columns: %w", err)
	}
	type table struct {
		schema, name string
		cols         []string
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		return t, r.Scan(&t.schema, &t.name, &t.cols)
	})
	if err != nil {
		return 0, fmt.Errorf("find read-model tables with personal columns: %w", err)
	}
	var n int64
	for _, t := range tables {
		set, held := "", ""
		for i, c := range t.cols {
			id := pgx.Identifier{c}.Sanitize()
			if i > 0 {
				set, held = set+", ", held+" OR "
			}
			set += id + " = NULL"
			held += id + " IS NOT NULL"
		}
		tag, err := tx.Exec(ctx, `UPDATE `+pgx.Identifier{t.schema, t.name}.Sanitize()+` SET `+set+
			` WHERE subject = $1 AND (`+held+`)`, string(s))
		if err != nil {
			return n, fmt.Errorf("erase %s from %s.%s: %w", s, t.schema, t.name, err)
		}
		n += tag.RowsAffected()
	}
	return n, nil
}

// minSearchable is the length (in characters) from which an erased value
// is searched for in copies that do not name the subject: a shorter one
// ("1" for a phone) would match unrelated text everywhere.
const minSearchable = 4

// searchable returns the values erasure searches copies for.
func searchable(values []string) []string {
	var out []string
	for _, v := range values {
		if utf8.RuneCountInString(v) >= minSearchable {
			out = append(out, v)
		}
	}
	return out
}

// scrubReadModelValues removes values from every text column of every
// table outside the public schema (where the log and the service's own
// tables are; every read-model version has a schema of its own), for copies
// kept without a subject column (an agreement entry's note): a column equal
// to a value becomes NULL, or ” where NULL is not allowed (what a replay
// of the erased event writes); one that contains it gets the value replaced
// by "[erased]".
func scrubReadModelValues(ctx context.Context, tx pgx.Tx, values []string) (int64, error) {
	if len(values) == 0 {
		return 0, nil
	}
	rows, err := tx.Query(ctx, `SELECT c.table_schema, c.table_name, c.column_name, c.is_nullable = 'YES'
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
		WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema', 'public') AND c.table_schema NOT LIKE 'pg\_%'
			AND c.data_type IN ('text', 'character varying')
		ORDER BY 1, 2, 3`)
	if err != nil {
		return 0, fmt.Errorf("find read-model text columns: %w", err)
	}
	type column struct {
		schema, table, name string
		nullable            bool
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		return c, r.Scan(&c.schema, &c.table, &c.name, &c.nullable)
	})
	if err != nil {
		return 0, fmt.Errorf("find read-model text columns: %w", err)
	}
	// A table's rows as text hold every column, with '"' and '\' doubled:
	// one query per table finds the tables worth updating.
	probes := make([]string, 0, len(values))
	for _, v := range values {
		probes = append(probes, strings.NewReplacer(`"`, `""`, `\`, `\\`).Replace(v))
	}
	holds := map[string]bool{}
	var n int64
	for _, c := range cols {
		tbl := pgx.Identifier{c.schema, c.table}.Sanitize()
		held, seen := holds[tbl]
		if !seen {
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM `+tbl+` x, unnest($1::text[]) v WHERE strpos(x::text, v) > 0)`,
				probes).Scan(&held); err != nil {
				return n, fmt.Errorf("search %s: %w", tbl, err)
			}
			holds[tbl] = held
		}
		if !held {
			continue
		}
		id, empty := pgx.Identifier{c.name}.Sanitize(), `''`
		if c.nullable {
			empty = "NULL"
		}
		for _, v := range values {
			tag, err := tx.Exec(ctx, `UPDATE `+pgx.Identifier{c.schema, c.table}.Sanitize()+` SET `+id+` = CASE
					WHEN `+id+` = $1 THEN `+empty+` ELSE replace(`+id+`, $1, '[erased]') END
				WHERE strpos(`+id+`, $1) > 0`, v)
			if err != nil {
				return n, fmt.Errorf("erase values from %s.%s.%s: %w", c.schema, c.table, c.name, err)
			}
			n += tag.RowsAffected()
		}
	}
	return n, nil
}

// scrubCopies replaces stored idempotent answers and parked-event errors
// that contain any of values by a marker. The idempotency row stays (with
// its status), so a retry is still answered and never runs again.
func scrubCopies(ctx context.Context, tx pgx.Tx, values []string) (idem, parked int64, err error) {
	if len(values) == 0 {
		return 0, 0, nil
	}
	tag, err := tx.Exec(ctx, `UPDATE idempotency_keys SET body = convert_to($2, 'UTF8'), content_type = 'text/plain; charset=utf-8',
			location = CASE WHEN EXISTS (SELECT FROM unnest($1::text[]) v WHERE strpos(location, v) > 0) THEN NULL ELSE location END
		WHERE EXISTS (SELECT FROM unnest($1::text[]) v
			WHERE position(convert_to(v, 'UTF8') IN coalesce(body, ''::bytea)) > 0 OR strpos(coalesce(location, ''), v) > 0)`,
		values, erasedMarker)
	if err != nil {
		return 0, 0, fmt.Errorf("erase from stored idempotent answers: %w", err)
	}
	idem = tag.RowsAffected()
	tag, err = tx.Exec(ctx, `UPDATE projection_parked SET error = $2
		WHERE EXISTS (SELECT FROM unnest($1::text[]) v WHERE strpos(error, v) > 0)`, values, erasedMarker)
	if err != nil {
		return idem, 0, fmt.Errorf("erase from parked events: %w", err)
	}
	return idem, tag.RowsAffected(), nil
}

// erasureColumns selects what scanErasure reads of personal.erased events.
const erasureColumns = `position, event_id::text, recorded_at, principal, data->>'subject', data->>'reason' FROM events
	WHERE type = 'personal.erased'`

func scanErasure(r pgx.CollectableRow) (personal.ErasureRecord, error) {
	var x personal.ErasureRecord
	err := r.Scan(&x.Position, &x.EventID, &x.RecordedAt, &x.By, &x.Subject, &x.Reason)
	return x, err
}

// Erasures lists every recorded erasure in log order.
func (p *PersonalData) Erasures(ctx context.Context) ([]personal.ErasureRecord, error) {
	return ListErasures(ctx, p.pool)
}

// ListErasures lists every personal.erased event of the PostgreSQL log in
// log order (for `kaiku audit verify`, which needs no master key).
func ListErasures(ctx context.Context, q Querier) ([]personal.ErasureRecord, error) {
	rows, err := q.Query(ctx, `SELECT `+erasureColumns+` ORDER BY position`)
	if err != nil {
		return nil, fmt.Errorf("list erasures: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanErasure)
	if err != nil {
		return nil, fmt.Errorf("list erasures: %w", err)
	}
	return out, nil
}

// Access returns what the log holds about subject. It returns an error
// wrapping domain.ErrNotFound when the log never held the subject.
func (p *PersonalData) Access(ctx context.Context, s personal.Subject) (personal.Access, error) {
	a := personal.Access{Subject: s, Parts: []personal.Part{}, Erasures: []personal.ErasureRecord{}}
	err := pgx.BeginTxFunc(ctx, p.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		parts, err := p.parts(ctx, tx, s, false)
		if err != nil {
			return err
		}
		for _, x := range parts {
			a.Parts = append(a.Parts, x.Part)
		}
		err = tx.QueryRow(ctx, `SELECT created_at, erased_at FROM personal_keys WHERE subject = $1`, string(s)).Scan(&a.KeyCreatedAt, &a.ErasedAt)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+erasureColumns+` AND stream = $1 ORDER BY position`, string(personal.Stream(s)))
		if err != nil {
			return err
		}
		a.Erasures, err = pgx.CollectRows(rows, scanErasure)
		return err
	})
	if err != nil {
		return a, fmt.Errorf("subject access %s: %w", s, err)
	}
	if len(a.Parts) == 0 && a.KeyCreatedAt == nil && len(a.Erasures) == 0 {
		return a, fmt.Errorf("personal data of subject %s: %w", s, domain.ErrNotFound)
	}
	a.Erased = a.ErasedAt != nil
	return a, nil
}
