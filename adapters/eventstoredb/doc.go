// Package eventstoredb implements Kaiku's event store port
// (domain.EventStore) on KurrentDB, formerly EventStoreDB, through
// EventStore-Client-Go/v4. PostgreSQL stays the default store; this one is
// for running the log on a KurrentDB node or cluster (KAIKU_STORE set to a
// kurrentdb:// URL), and it passes the same contract suite
// (domain/eventstoretest) except where KurrentDB cannot (see Store).
//
// How a Record is stored: each Kaiku stream is a KurrentDB stream of the
// same name; the event id is the KurrentDB event id (so KurrentDB's own
// per-stream deduplication applies); the event type is the full stored name
// ("card.issued.v1"); the data is the record's JSON byte for byte; the rest
// of the envelope (principal, correlation and causation ids, occurredAt,
// schema version, personal data and its subject) is JSON user metadata.
// Reading back, Version is the 0-based revision plus one, RecordedAt the
// server's creation time, and Position the $all commit position (see
// position.go for why that is exact).
//
// The global log is $all without KurrentDB's system events and without
// Kaiku's internal streams. ReadAll pages through it; Subscribe follows it
// live from a saved position and subscribes again after drops, which the
// v4 client does not do by itself.
//
// Tests: the mappings, error translation, URL parsing and resubscription
// are unit tested without a server. The contract suite runs against a real
// KurrentDB when KURRENTDB_URL is set (compose.yaml at the repository root
// starts one).
package eventstoredb
