package compliance

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

var tables = []string{"guideline_versions", "localities", "meetings", "partners", "commitments", "agreements"}

// DDL returns the statements that create the read model's schema and
// tables, every name qualified with schema and quoted. It is idempotent
// (IF NOT EXISTS).
func DDL(schema string) string { return names(schema).Replace(ddlTemplate) }

func names(schema string) *strings.Replacer {
	pairs := []string{"{schema}", pgx.Identifier{schema}.Sanitize()}
	for _, t := range tables {
		pairs = append(pairs, "{"+t+"}", pgx.Identifier{schema, t}.Sanitize())
	}
	return strings.NewReplacer(pairs...)
}

const ddlTemplate = `
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {guideline_versions} (version text PRIMARY KEY, effective_from date NOT NULL);
CREATE TABLE IF NOT EXISTS {localities} (
    locality text PRIMARY KEY, name text NOT NULL, joined_on date NOT NULL, left_on date);
CREATE TABLE IF NOT EXISTS {meetings} (
    locality text NOT NULL, position bigint NOT NULL, held_on date NOT NULL, PRIMARY KEY (locality, position));
-- has_contact: the partner has a contact person (a subject or a name).
CREATE TABLE IF NOT EXISTS {partners} (
    partner text PRIMARY KEY, locality text NOT NULL, name text NOT NULL, kind text NOT NULL,
    joined_on date NOT NULL, left_on date, has_contact bool NOT NULL);
CREATE TABLE IF NOT EXISTS {commitments} (
    partner text NOT NULL, position bigint NOT NULL, guideline_version text NOT NULL, committed_on date NOT NULL,
    PRIMARY KEY (partner, position));
CREATE TABLE IF NOT EXISTS {agreements} (
    agreement text PRIMARY KEY, locality text NOT NULL, partner text NOT NULL,
    valid_from date NOT NULL, valid_until date, terminated_on date); -- valid_until NULL: until further notice
`
