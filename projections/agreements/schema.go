package agreements

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

var tables = []string{"agreements", "entries"}

// DDL returns the statements that create the read model's schema, tables
// and indexes, every name qualified with schema and quoted. It is
// idempotent (IF NOT EXISTS).
func DDL(schema string) string { return names(schema).Replace(ddlTemplate) }

func names(schema string) *strings.Replacer {
	pairs := []string{"{schema}", pgx.Identifier{schema}.Sanitize()}
	for _, t := range tables {
		pairs = append(pairs, "{"+t+"}", pgx.Identifier{schema, t}.Sanitize())
	}
	pairs = append(pairs, "{agreements_locality}", pgx.Identifier{"agreements_locality"}.Sanitize())
	return strings.NewReplacer(pairs...)
}

const ddlTemplate = `
CREATE SCHEMA IF NOT EXISTS {schema};

-- One row per agreement in its current state.
CREATE TABLE IF NOT EXISTS {agreements} (
    agreement        text PRIMARY KEY,
    locality         text NOT NULL,
    partner          text NOT NULL,
    kind             text NOT NULL,
    template_version text NOT NULL,
    valid_from       date NOT NULL,
    valid_until      date,          -- last valid day, as last amended; NULL until further notice
    terminated_on    date           -- first day out of force
);
CREATE INDEX IF NOT EXISTS {agreements_locality} ON {agreements} (locality, valid_from);

-- The timeline: one row per signing, amendment and termination.
CREATE TABLE IF NOT EXISTS {entries} (
    agreement   text        NOT NULL,
    position    bigint      NOT NULL,
    what        text        NOT NULL,
    on_date     date        NOT NULL,
    valid_until date,                   -- NULL: until further notice
    note        text        NOT NULL DEFAULT '',
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (agreement, position)
);
`
