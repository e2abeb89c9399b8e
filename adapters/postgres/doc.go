// Package postgres implements Kaiku's default event store and read-model
// storage on PostgreSQL with pgx/v5: the log (Store), the hash chain and
// seals (Chainer, Verify), and schema migrations (Migrate).
package postgres
