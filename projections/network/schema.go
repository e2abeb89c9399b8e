package network

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

var tables = []string{"localities", "locality_states", "partners", "partner_states", "contacts", "agreements", "agreement_terms"}

// intervals are the tables of dated facts: each has key, position,
// valid_from and valid_to.
var intervals = []string{"locality_states", "partner_states", "contacts", "agreement_terms"}

// DDL returns the statements that create the read model's schema, tables
// and indexes, every name qualified with schema and quoted. It is
// idempotent (IF NOT EXISTS).
func DDL(schema string) string {
	r := names(schema)
	var b strings.Builder
	b.WriteString(r.Replace(ddlTemplate))
	for _, t := range intervals {
		b.WriteString(r.Replace("CREATE INDEX IF NOT EXISTS " + pgx.Identifier{t + "_valid"}.Sanitize() +
			" ON {" + t + "} (key, valid_from);\n"))
	}
	return b.String()
}

func names(schema string) *strings.Replacer {
	pairs := []string{"{schema}", pgx.Identifier{schema}.Sanitize()}
	for _, t := range tables {
		pairs = append(pairs, "{"+t+"}", pgx.Identifier{schema, t}.Sanitize())
	}
	return strings.NewReplacer(pairs...)
}

const ddlTemplate = `
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {localities} (
    locality text PRIMARY KEY, name text NOT NULL, scope text NOT NULL, municipalities text[] NOT NULL);
CREATE TABLE IF NOT EXISTS {partners} (
    partner text PRIMARY KEY, locality text NOT NULL, name text NOT NULL, kind text NOT NULL, category text NOT NULL);
CREATE TABLE IF NOT EXISTS {agreements} (
    agreement text PRIMARY KEY, locality text NOT NULL, partner text NOT NULL, kind text NOT NULL,
    template_version text NOT NULL, valid_from date NOT NULL);

-- Dated facts, valid from valid_from until the day before valid_to.
CREATE TABLE IF NOT EXISTS {locality_states} (
    key text NOT NULL, position bigint NOT NULL, valid_from date NOT NULL, valid_to date,
    state text NOT NULL, -- pilot, established or left
    PRIMARY KEY (key, position));
CREATE TABLE IF NOT EXISTS {partner_states} (
    key text NOT NULL, position bigint NOT NULL, valid_from date NOT NULL, valid_to date,
    state text NOT NULL, -- joined, approved or left
    PRIMARY KEY (key, position));
-- name, email and phone are personal data, NULL once erased by subject.
CREATE TABLE IF NOT EXISTS {contacts} (
    key text NOT NULL, position bigint NOT NULL, valid_from date NOT NULL, valid_to date,
    subject text, name text, email text, phone text,
    PRIMARY KEY (key, position));
-- The agreement's terms from a date: its last valid day, or terminated.
CREATE TABLE IF NOT EXISTS {agreement_terms} (
    key text NOT NULL, position bigint NOT NULL, valid_from date NOT NULL, valid_to date,
    valid_until date, terminated bool NOT NULL,
    PRIMARY KEY (key, position));
`
