package commitments

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

var tables = []string{"guideline_versions", "partners", "commitments"}

// DDL returns the statements that create the read model's schema, tables
// and indexes, every name qualified with schema and quoted. It is
// idempotent (IF NOT EXISTS).
func DDL(schema string) string { return names(schema).Replace(ddlTemplate) }

func names(schema string) *strings.Replacer {
	pairs := []string{"{schema}", pgx.Identifier{schema}.Sanitize()}
	for _, t := range tables {
		pairs = append(pairs, "{"+t+"}", pgx.Identifier{schema, t}.Sanitize())
	}
	pairs = append(pairs, "{partners_locality}", pgx.Identifier{"partners_locality"}.Sanitize())
	return strings.NewReplacer(pairs...)
}

const ddlTemplate = `
CREATE SCHEMA IF NOT EXISTS {schema};

CREATE TABLE IF NOT EXISTS {guideline_versions} (
    version        text PRIMARY KEY,
    effective_from date NOT NULL
);

CREATE TABLE IF NOT EXISTS {partners} (
    partner   text PRIMARY KEY,
    locality  text NOT NULL,
    name      text NOT NULL,
    kind      text NOT NULL,
    category  text NOT NULL,
    joined_on date NOT NULL,
    left_on   date  -- first day out of the network
);
CREATE INDEX IF NOT EXISTS {partners_locality} ON {partners} (locality, partner);

-- Every commitment a partner made, in log order.
CREATE TABLE IF NOT EXISTS {commitments} (
    partner           text   NOT NULL,
    position          bigint NOT NULL,
    guideline_version text   NOT NULL,
    via               text   NOT NULL,
    committed_on      date   NOT NULL,
    PRIMARY KEY (partner, position)
);
`
