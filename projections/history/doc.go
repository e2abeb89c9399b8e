// Package history is the audited network history: one row per event of
// the log (every type, cards included, and types this build does not know),
// with its envelope (position, stream, version, type, business and record
// time, principal, correlation and causation ids), the locality it
// concerns, and a short summary. Queries filter by locality, stream, event
// type, principal and record-time range and page by position.
//
// Rows never hold personal data: the log holds none of cardholders, and
// contact or coordinator changes are summarised without the person
// ("contact changed from 2024-06-01"). A holder's birth year and postal
// code are left out of summaries as well.
//
// The locality of an event is its stream's for locality events, and is
// looked up in small tables for the others: a partner's from its Joined, an
// agreement's from its Signed, a card's from its Issued or
// ReplacementIssued. Guideline events are national (no locality).
//
// The tables live in a schema chosen by the caller ("history_v1", …):
// DDL(schema) creates them, New(schema) fills them, NewQueries(db, schema)
// reads them; every name is quoted with pgx.Identifier. Handle costs one
// round trip per event (a pgx.Batch of at most two statements).
package history
