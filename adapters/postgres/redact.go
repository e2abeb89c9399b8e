package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
	"github.com/kaiku/kaiku/domain/personal"
)

// ErrRedactWholeFormat reports that the event was chained under
// audit.FormatWhole, whose hash covers the data as one byte string: a
// redaction would break its seal.
var ErrRedactWholeFormat = domain.Violationf("redaction_unsupported",
	"the event was chained before field digests (chain format 1); redacting it would break the chain")

// Redact replaces the scalar at field (a JSON pointer) of the data of the
// event at position by its redaction marker, which names the digest of the
// replaced bytes, and appends redaction.made (position, field, digest,
// reason; who is md's principal), in one transaction. The replaced value
// is also removed from every read-model version, stored idempotent answer
// and parked-event error (as Erase does). The hash chain still verifies:
// under audit.FormatFields it covers the field's digest, which the marker
// names.
//
// It returns domain.ErrNotFound for no event at position, a
// *domain.Invalid (code "invalid_field") for a field that is no scalar of
// the event or was redacted already, and ErrRedactWholeFormat for an event
// chained under format 1.
func (p *PersonalData) Redact(ctx context.Context, pos domain.Position, field string, reason personal.Reason, md domain.Metadata) (personal.RedactionRecord, error) {
	out := personal.RedactionRecord{Position: pos, Field: field, Reason: reason}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var data, typ string
		err := tx.QueryRow(ctx, `SELECT data::text, type FROM events WHERE position = $1 FOR UPDATE`, int64(pos)).Scan(&data, &typ)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("event at position %d: %w", pos, domain.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if typ == "redaction.made" || typ == "personal.erased" {
			return domain.Invalidf("invalid_field", "position", "the event at %d records a redaction or erasure; it holds no personal data", pos)
		}
		var format int
		err = tx.QueryRow(ctx, `SELECT format FROM event_chain WHERE position = $1`, int64(pos)).Scan(&format)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if format == audit.FormatWhole {
			return fmt.Errorf("event at %d: %w", pos, ErrRedactWholeFormat)
		}
		var old []byte
		leaves, err := audit.Leaves([]byte(data))
		if err != nil {
			return fmt.Errorf("event at %d: data is not JSON: %w", pos, err)
		}
		for _, l := range leaves {
			if l.Pointer == field {
				old = []byte(data[l.Start:l.End])
			}
		}
		redacted, digest, err := audit.Redact([]byte(data), field)
		if err != nil {
			return domain.Invalidf("invalid_field", "field", "event at %d: %v", pos, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE events SET data = $2::text::json WHERE position = $1`, int64(pos), string(redacted)); err != nil {
			return err
		}
		out.Digest = audit.DigestText(digest)
		rec, err := domain.Encode(personal.Redacted{Position: strconv.FormatInt(int64(pos), 10), Field: field, Digest: out.Digest, Reason: reason}, md)
		if err != nil {
			return err
		}
		appended, err := p.store.AppendTx(ctx, tx, personal.RedactionStream(pos), domain.AnyVersion, rec)
		if err != nil {
			return fmt.Errorf("append redaction.made: %w", err)
		}
		out.At, out.RecordedAt, out.By = appended[0].Position, appended[0].RecordedAt, appended[0].Principal.String()
		var values []string
		var s string
		if json.Unmarshal(old, &s) == nil && s != "" {
			values = append(values, s)
		} else {
			values = append(values, string(old))
		}
		values = searchable(values)
		if _, err := scrubReadModelValues(ctx, tx, values); err != nil {
			return err
		}
		_, _, err = scrubCopies(ctx, tx, values)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("redact %s of the event at %d: %w", field, pos, err)
	}
	return out, nil
}

// RedactionCheck is what CheckRedactions found: every recorded redaction,
// and every redaction marker in the log that no recorded redaction
// explains (tamper).
type RedactionCheck struct {
	Redactions  []personal.RedactionRecord
	Unexplained []string
}

// CheckRedactions lists every redaction.made event and checks that each
// redaction marker in the log's data is explained by one: same position,
// same field, same digest. A marker without one is a change made outside
// Kaiku (a marker with a wrong digest also fails the chain itself). It
// needs no master key.
func CheckRedactions(ctx context.Context, q Querier) (RedactionCheck, error) {
	var out RedactionCheck
	rows, err := q.Query(ctx, `SELECT (data->>'position')::bigint, data->>'field', data->>'digest', recorded_at, principal,
		data->>'reason', position FROM events WHERE type = 'redaction.made' ORDER BY position`)
	if err != nil {
		return out, fmt.Errorf("list redactions: %w", err)
	}
	out.Redactions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (personal.RedactionRecord, error) {
		var x personal.RedactionRecord
		return x, r.Scan(&x.Position, &x.Field, &x.Digest, &x.RecordedAt, &x.By, &x.Reason, &x.At)
	})
	if err != nil {
		return out, fmt.Errorf("list redactions: %w", err)
	}
	type key struct {
		pos   domain.Position
		field string
	}
	recorded := make(map[key]string, len(out.Redactions))
	for _, r := range out.Redactions {
		recorded[key{r.Position, r.Field}] = r.Digest
	}
	rows, err = q.Query(ctx, `SELECT position, data::text FROM events
		WHERE strpos(data::text, 'kaiku-redacted:sha256:') > 0 ORDER BY position`)
	if err != nil {
		return out, fmt.Errorf("find redaction markers: %w", err)
	}
	var pos domain.Position
	var data string
	_, err = pgx.ForEachRow(rows, []any{&pos, &data}, func() error {
		leaves, err := audit.Leaves([]byte(data))
		if err != nil {
			return nil // not JSON: the chain reports the change
		}
		for _, l := range leaves {
			if l.Marker == nil {
				continue
			}
			d, ok := recorded[key{pos, l.Pointer}]
			switch {
			case !ok:
				out.Unexplained = append(out.Unexplained,
					fmt.Sprintf("position %d: field %s was replaced by a redaction marker, but no redaction of it is recorded", pos, l.Pointer))
			case d != audit.DigestText(l.Marker):
				out.Unexplained = append(out.Unexplained,
					fmt.Sprintf("position %d: field %s names digest %s, but the recorded redaction replaced a value with digest %s", pos, l.Pointer, audit.DigestText(l.Marker), d))
			}
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("find redaction markers: %w", err)
	}
	return out, nil
}
