// Package migrations holds Kaiku's PostgreSQL schema as plain, numbered SQL
// files (NNNN_name.sql), embedded in the binary. adapters/postgres applies
// them in order, each once, inside a transaction, recording each in
// kaiku_migrations; `kaiku migrate` and `kaiku serve` both run them.
package migrations

import "embed"

// FS holds every *.sql migration.
//
//go:embed *.sql
var FS embed.FS
