package history

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

var tables = []string{"events", "partner_localities", "agreement_localities", "card_localities"}

var indexes = []string{"events_locality", "events_stream", "events_type", "events_principal", "events_recorded_at"}

// DDL returns the statements that create the read model's schema, tables
// and indexes, every name qualified with schema and quoted. It is
// idempotent (IF NOT EXISTS).
func DDL(schema string) string { return names(schema).Replace(ddlTemplate) }

func names(schema string) *strings.Replacer {
	pairs := []string{"{schema}", pgx.Identifier{schema}.Sanitize()}
	for _, t := range tables {
		pairs = append(pairs, "{"+t+"}", pgx.Identifier{schema, t}.Sanitize())
	}
	for _, i := range indexes {
		pairs = append(pairs, "{"+i+"}", pgx.Identifier{i}.Sanitize())
	}
	return strings.NewReplacer(pairs...)
}

// Paging is by position (the primary key); each filter has an index that
// ends in position, so "filter, after position, limit n" reads n index
// entries, whatever the size of the log.
const ddlTemplate = `
CREATE SCHEMA IF NOT EXISTS {schema};

CREATE TABLE IF NOT EXISTS {events} (
    position       bigint      PRIMARY KEY,
    stream         text        NOT NULL,
    version        bigint      NOT NULL,
    type           text        NOT NULL,
    schema_version int         NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL,
    principal      text        NOT NULL,
    correlation_id uuid,
    causation_id   uuid,
    locality       text,       -- NULL for national events (guideline)
    summary        text        NOT NULL
);
CREATE INDEX IF NOT EXISTS {events_locality}    ON {events} (locality, position);
CREATE INDEX IF NOT EXISTS {events_stream}      ON {events} (stream, position);
CREATE INDEX IF NOT EXISTS {events_type}        ON {events} (type, position);
CREATE INDEX IF NOT EXISTS {events_principal}   ON {events} (principal, position);
CREATE INDEX IF NOT EXISTS {events_recorded_at} ON {events} (recorded_at, position);

CREATE TABLE IF NOT EXISTS {partner_localities}   (partner   text PRIMARY KEY, locality text NOT NULL);
CREATE TABLE IF NOT EXISTS {agreement_localities} (agreement text PRIMARY KEY, locality text NOT NULL);
CREATE TABLE IF NOT EXISTS {card_localities}      (card      text PRIMARY KEY, locality text NOT NULL);
`
