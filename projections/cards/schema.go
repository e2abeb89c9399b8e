package cards

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// tables lists the read model's tables, in the order Reset truncates them.
var tables = []string{"cards", "periods", "uses", "partners", "localities"}

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
	for _, i := range []string{"uses_venue", "uses_card"} {
		pairs = append(pairs, "{"+i+"}", pgx.Identifier{i}.Sanitize())
	}
	return strings.NewReplacer(pairs...)
}

const ddlTemplate = `
CREATE SCHEMA IF NOT EXISTS {schema};
-- One row per card number; a replacement card is a row of its own that
-- names the card it replaces.
CREATE TABLE IF NOT EXISTS {cards} (
    card           text    PRIMARY KEY,
    issuer         text    NOT NULL,
    locality       text    NOT NULL,
    kind           text    NOT NULL,
    issued_on      date    NOT NULL,
    replaces       text,
    replaced_by    text,
    replaced_on    date,
    cancelled_on   date,
    birth_year     int,
    postal_code    text    NOT NULL,
    minor_children int     NOT NULL,
    life_situation text,
    gender         text
);
-- Validity periods: the issue's and each renewal's, keyed by position.
CREATE TABLE IF NOT EXISTS {periods} (
    card     text   NOT NULL,
    position bigint NOT NULL,
    from_on  date   NOT NULL,
    until_on date   NOT NULL,
    PRIMARY KEY (card, position)
);
CREATE TABLE IF NOT EXISTS {uses} (
    card           text    NOT NULL,
    use_id         text    NOT NULL,
    position       bigint  NOT NULL,
    venue          text    NOT NULL,
    venue_locality text    NOT NULL,
    used_on        date    NOT NULL,
    category       text    NOT NULL,
    kind           text    NOT NULL,
    child_tickets  int     NOT NULL,
    assistant      bool    NOT NULL,
    cancelled      bool    NOT NULL DEFAULT false,
    PRIMARY KEY (card, use_id)
);
CREATE INDEX IF NOT EXISTS {uses_venue} ON {uses} (venue, position);
CREATE INDEX IF NOT EXISTS {uses_card} ON {uses} (card, used_on);
CREATE TABLE IF NOT EXISTS {partners} (
    partner   text PRIMARY KEY,
    locality  text NOT NULL,
    kind      text NOT NULL,
    category  text NOT NULL,
    joined_on date NOT NULL,
    left_on   date
);
CREATE TABLE IF NOT EXISTS {localities} (
    locality  text PRIMARY KEY,
    scope     text NOT NULL,
    joined_on date NOT NULL,
    left_on   date
);
`
