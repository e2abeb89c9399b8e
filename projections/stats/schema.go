package stats

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DDL returns the statements that create the read model's schema and
// tables, every name qualified with schema and quoted. It is idempotent
// (IF NOT EXISTS), so running it on an existing schema changes nothing.
func DDL(schema string) string {
	s := pgx.Identifier{schema}.Sanitize()
	t := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	r := strings.NewReplacer(
		"{schema}", s,
		"{guideline_versions}", t("guideline_versions"),
		"{fixed_rules}", t("fixed_rules"),
		"{localities}", t("localities"),
		"{partners}", t("partners"),
		"{cards}", t("cards"),
		"{uses}", t("uses"),
		"{uses_used_on}", pgx.Identifier{"uses_used_on"}.Sanitize(),
		"{uses_use_key}", pgx.Identifier{"uses_use_key"}.Sanitize(),
		"{cards_issued_on}", pgx.Identifier{"cards_issued_on"}.Sanitize(),
	)
	return r.Replace(ddlTemplate)
}

const ddlTemplate = `
CREATE SCHEMA IF NOT EXISTS {schema};

-- Guideline versions seen in the log, so that a restarted projection
-- labels new uses under the rules in force on their dates.
CREATE TABLE IF NOT EXISTS {guideline_versions} (
    version        text  PRIMARY KEY,
    effective_from date  NOT NULL,
    rules          jsonb NOT NULL
);

-- The one rules version a restated build counts by (absent for the live
-- projection, which follows the log's versions).
CREATE TABLE IF NOT EXISTS {fixed_rules} (
    singleton bool  PRIMARY KEY DEFAULT true CHECK (singleton),
    rules     jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS {localities} (
    id             text   PRIMARY KEY,
    municipalities text[] NOT NULL,
    joined_on      date   NOT NULL,
    left_on        date            -- first day out of the network
);

CREATE TABLE IF NOT EXISTS {partners} (
    id       text PRIMARY KEY,
    locality text NOT NULL,
    kind     text NOT NULL
);

-- One row per card number. root is the card a replacement continues
-- (itself for a newly registered card); registered is false for
-- replacements, which are not new registrations.
CREATE TABLE IF NOT EXISTS {cards} (
    card            text    PRIMARY KEY,
    root            text    NOT NULL,
    registered      bool    NOT NULL,
    issuer          text    NOT NULL,
    issuer_locality text    NOT NULL,
    issued_on       date    NOT NULL,
    birth_year      int     NOT NULL,
    postal_area     text    NOT NULL,
    age_group       text    NOT NULL
);
CREATE INDEX IF NOT EXISTS {cards_issued_on} ON {cards} (issued_on);

-- One row per recorded use, labelled with what breakdowns group by.
-- child_tickets is the number counted under the rules the row was
-- labelled by. A cancelled use keeps its row and counts nowhere.
CREATE TABLE IF NOT EXISTS {uses} (
    card            text    NOT NULL,
    use_id          text    NOT NULL,
    root            text    NOT NULL,
    used_on         date    NOT NULL,
    venue           text    NOT NULL,
    venue_locality  text    NOT NULL,
    issuer          text    NOT NULL,
    issuer_locality text    NOT NULL,
    category        text    NOT NULL,
    kind            text    NOT NULL,
    child_tickets   int     NOT NULL,
    age_group       text    NOT NULL,
    postal_area     text    NOT NULL,
    cancelled       bool    NOT NULL DEFAULT false,
    -- A 64-bit hash of (card, use_id): the one b-tree the table keeps, for
    -- finding a use to cancel. A two-text primary key doubled the cost
    -- of every COPY; uniqueness comes from the log (a use id is unique
    -- per card), and lookups still compare card and use_id.
    use_key         bigint  NOT NULL
);
CREATE INDEX IF NOT EXISTS {uses_use_key} ON {uses} (use_key);
-- Uses arrive roughly in date order, so a BRIN index serves the date
-- ranges at almost no cost per insert.
CREATE INDEX IF NOT EXISTS {uses_used_on} ON {uses} USING brin (used_on);
`

// Execer runs a statement; a pool, a connection and a transaction all
// qualify.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// CreateSchema runs DDL(schema) on db. It returns the database's error,
// wrapped, when a statement fails.
func CreateSchema(ctx context.Context, db Execer, schema string) error {
	if _, err := db.Exec(ctx, DDL(schema)); err != nil {
		return fmt.Errorf("create statistics schema %s: %w", schema, err)
	}
	return nil
}

// DropSchema drops schema and everything in it (an abandoned rebuild, a
// temporary as-of build). Dropping a schema that does not exist is not an
// error.
func DropSchema(ctx context.Context, db Execer, schema string) error {
	if _, err := db.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("drop statistics schema %s: %w", schema, err)
	}
	return nil
}
