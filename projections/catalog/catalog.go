// Package catalog knows Kaiku's read models by name, how to build each one
// into a schema, and which schema version of each is live. Serve, rebuild
// and the scale-out projectors all go through it, so they agree on what
// runs and what answers.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/agreements"
	"github.com/kaiku/kaiku/projections/cards"
	"github.com/kaiku/kaiku/projections/commitments"
	"github.com/kaiku/kaiku/projections/compliance"
	"github.com/kaiku/kaiku/projections/contacts"
	"github.com/kaiku/kaiku/projections/history"
	"github.com/kaiku/kaiku/projections/network"
	"github.com/kaiku/kaiku/projections/stats"
)

// Read-model names.
const (
	Stats       = "stats"
	Contacts    = "contacts"
	Commitments = "commitments"
	Agreements  = "agreements"
	History     = "history"
	Compliance  = "compliance"
	Network     = "network"
	Cards       = "cards"
)

type kind struct {
	ddl func(schema string) string
	new func(schema string, rules *guideline.Rules) projections.Projection
}

var kinds = map[string]kind{
	Stats: {stats.DDL, func(s string, r *guideline.Rules) projections.Projection {
		if r != nil {
			return stats.New(s, stats.WithRules(*r), stats.WithBatchFlush())
		}
		return stats.New(s, stats.WithBatchFlush())
	}},
	Contacts:    {contacts.DDL, func(s string, _ *guideline.Rules) projections.Projection { return contacts.New(s) }},
	Commitments: {commitments.DDL, func(s string, _ *guideline.Rules) projections.Projection { return commitments.New(s) }},
	Agreements:  {agreements.DDL, func(s string, _ *guideline.Rules) projections.Projection { return agreements.New(s) }},
	History:     {history.DDL, func(s string, _ *guideline.Rules) projections.Projection { return history.New(s) }},
	Compliance:  {compliance.DDL, func(s string, _ *guideline.Rules) projections.Projection { return compliance.New(s) }},
	Network:     {network.DDL, func(s string, _ *guideline.Rules) projections.Projection { return network.New(s) }},
	Cards:       {cards.DDL, func(s string, _ *guideline.Rules) projections.Projection { return cards.New(s) }},
}

// Names lists every read model, sorted.
func Names() []string {
	out := make([]string, 0, len(kinds))
	for n := range kinds {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ErrUnknown is returned (wrapped) for a name that is not a read model.
var ErrUnknown = errors.New("unknown read model")

// Version is one built (or building) version of a read model.
type Version struct {
	Schema    string
	ReadModel string
	Number    int
	Rules     string // guideline version of a restated build, else ""
	State     string // building, live, restated, retired
}

// DB is what the catalog needs; a pool or a transaction fits.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Projection returns the projection that builds v, with the rules of its
// restated guideline version when v has one (rules must then be given).
func Projection(v Version, rules *guideline.Rules) (projections.Projection, error) {
	k, ok := kinds[v.ReadModel]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknown, v.ReadModel, Names())
	}
	if v.Rules != "" && rules == nil {
		return nil, fmt.Errorf("catalog: %s is restated under guideline %s but no rules were given", v.Schema, v.Rules)
	}
	return k.new(v.Schema, rules), nil
}

// Create makes a new version of readModel (restated under rulesVersion
// when not empty) in state building, creates its schema and tables, and
// returns it. Numbers grow per read model.
func Create(ctx context.Context, db DB, readModel, rulesVersion string) (Version, error) {
	k, ok := kinds[readModel]
	if !ok {
		return Version{}, fmt.Errorf("%w %q (known: %v)", ErrUnknown, readModel, Names())
	}
	if rulesVersion != "" && readModel != Stats {
		return Version{}, domain.Invalidf("rules_not_applicable", "rules", "only statistics can be restated under a guideline version's rules")
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM read_model_versions WHERE read_model = $1`, readModel).Scan(&n); err != nil {
		return Version{}, fmt.Errorf("catalog: next version of %s: %w", readModel, err)
	}
	v := Version{ReadModel: readModel, Number: n, Rules: rulesVersion, State: "building", Schema: fmt.Sprintf("%s_v%d", readModel, n)}
	if rulesVersion != "" {
		v.Schema = fmt.Sprintf("%s_r%s_v%d", readModel, sanitize(rulesVersion), n)
	}
	if _, err := db.Exec(ctx, k.ddl(v.Schema)); err != nil {
		return Version{}, fmt.Errorf("catalog: create schema %s: %w", v.Schema, err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO read_model_versions (schema_name, read_model, version, rules, state)
		VALUES ($1, $2, $3, nullif($4, ''), 'building')`, v.Schema, readModel, n, rulesVersion); err != nil {
		return Version{}, fmt.Errorf("catalog: record %s: %w", v.Schema, err)
	}
	return v, nil
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Switch makes v the live version of its read model, and the previous
// live one retired (kept until dropped), in one statement sequence that
// must run in one transaction (db should be a pgx.Tx) so that readers move
// at once. A restated build becomes "restated" instead of live.
func Switch(ctx context.Context, db DB, v Version) error {
	if v.Rules != "" {
		_, err := db.Exec(ctx, `UPDATE read_model_versions SET state = 'retired'
			WHERE read_model = $1 AND rules = $2 AND state = 'restated' AND schema_name <> $3`, v.ReadModel, v.Rules, v.Schema)
		if err == nil {
			_, err = db.Exec(ctx, `UPDATE read_model_versions SET state = 'restated', switched_at = now() WHERE schema_name = $1`, v.Schema)
		}
		return wrap("switch", v.Schema, err)
	}
	if _, err := db.Exec(ctx, `UPDATE read_model_versions SET state = 'retired'
		WHERE read_model = $1 AND state = 'live' AND schema_name <> $2`, v.ReadModel, v.Schema); err != nil {
		return wrap("switch", v.Schema, err)
	}
	_, err := db.Exec(ctx, `UPDATE read_model_versions SET state = 'live', switched_at = now() WHERE schema_name = $1`, v.Schema)
	return wrap("switch", v.Schema, err)
}

func wrap(op, schema string, err error) error {
	if err != nil {
		return fmt.Errorf("catalog: %s %s: %w", op, schema, err)
	}
	return nil
}

// Live returns the live schema of readModel, or an error wrapping
// domain.ErrNotFound when it has none yet (EnsureLive makes one).
func Live(ctx context.Context, db DB, readModel string) (string, error) {
	var s string
	err := db.QueryRow(ctx, `SELECT schema_name FROM read_model_versions WHERE read_model = $1 AND state = 'live'`, readModel).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("catalog: no live version of %s: %w", readModel, domain.ErrNotFound)
	}
	return s, wrap("read live version of", readModel, err)
}

// Restated returns the newest restated schema of statistics under the
// guideline version rules, or an error wrapping domain.ErrNotFound.
func Restated(ctx context.Context, db DB, rules string) (string, error) {
	var s string
	err := db.QueryRow(ctx, `SELECT schema_name FROM read_model_versions
		WHERE read_model = 'stats' AND rules = $1 AND state = 'restated'`, rules).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("catalog: statistics were not restated under guideline %s: %w", rules, domain.ErrNotFound)
	}
	return s, wrap("read restated version of", "stats", err)
}

// Versions lists every version in state live, restated or building.
func Versions(ctx context.Context, db DB) ([]Version, error) {
	rows, err := db.Query(ctx, `SELECT schema_name, read_model, version, coalesce(rules, ''), state
		FROM read_model_versions WHERE state <> 'retired' ORDER BY read_model, version`)
	if err != nil {
		return nil, fmt.Errorf("catalog: list versions: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Version, error) {
		var v Version
		err := r.Scan(&v.Schema, &v.ReadModel, &v.Number, &v.Rules, &v.State)
		return v, err
	})
}

// EnsureLive gives every read model without a live version a fresh, empty
// version 1 and makes it live (a new database, or a read model added by an
// upgrade). The runner then catches it up from the start of the log. It is
// safe to call from several processes at once: they serialise on a lock.
func EnsureLive(ctx context.Context, db interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `LOCK TABLE read_model_versions IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("catalog: lock: %w", err)
	}
	for _, name := range Names() {
		if _, err := Live(ctx, tx, name); err == nil {
			continue
		} else if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		v, err := Create(ctx, tx, name, "")
		if err != nil {
			return err
		}
		if err := Switch(ctx, tx, v); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}
