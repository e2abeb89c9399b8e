package contacts

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// tables lists the read model's tables, in the order Reset truncates them.
var tables = []string{"partners", "contacts", "coordinators"}

// DDL returns the statements that create the read model's schema, tables
// and indexes, every name qualified with schema and quoted. It is
// idempotent (IF NOT EXISTS).
func DDL(schema string) string { return names(schema).Replace(ddlTemplate) }

// names replaces {schema}, {table} and {index} placeholders with quoted,
// schema-qualified names.
func names(schema string) *strings.Replacer {
	pairs := []string{"{schema}", pgx.Identifier{schema}.Sanitize()}
	for _, t := range tables {
		pairs = append(pairs, "{"+t+"}", pgx.Identifier{schema, t}.Sanitize())
	}
	for _, i := range []string{"partners_locality", "contacts_subject", "coordinators_subject"} {
		pairs = append(pairs, "{"+i+"}", pgx.Identifier{i}.Sanitize())
	}
	return strings.NewReplacer(pairs...)
}

const ddlTemplate = `
CREATE SCHEMA IF NOT EXISTS {schema};

CREATE TABLE IF NOT EXISTS {partners} (
    partner     text PRIMARY KEY,
    locality    text NOT NULL,
    name        text NOT NULL,
    kind        text NOT NULL,
    category    text NOT NULL,
    joined_on   date NOT NULL,
    approved_on date,
    left_on     date  -- first day out of the network
);
CREATE INDEX IF NOT EXISTS {partners_locality} ON {partners} (locality, partner);

-- One row per contact a partner had, valid from from_on until to_on
-- (exclusive; NULL for the current contact). name, email and phone are
-- personal data: NULL once erased by subject.
CREATE TABLE IF NOT EXISTS {contacts} (
    partner     text        NOT NULL,
    position    bigint      NOT NULL,
    from_on     date        NOT NULL,
    to_on       date,
    subject     text,
    name        text,
    email       text,
    phone       text,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (partner, position)
);
CREATE INDEX IF NOT EXISTS {contacts_subject} ON {contacts} (subject) WHERE subject IS NOT NULL;

CREATE TABLE IF NOT EXISTS {coordinators} (
    locality text   NOT NULL,
    side     text   NOT NULL,
    position bigint NOT NULL,
    from_on  date   NOT NULL,
    to_on    date,
    subject  text,
    name     text,
    email    text,
    phone    text,
    PRIMARY KEY (locality, side, position)
);
CREATE INDEX IF NOT EXISTS {coordinators_subject} ON {coordinators} (subject) WHERE subject IS NOT NULL;
`
