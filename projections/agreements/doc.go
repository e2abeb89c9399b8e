// Package agreements is the read model of agreements between localities
// and their partners: each agreement's timeline (signed, amended…,
// terminated, and "expired" once its last valid day has passed without a
// termination) for auditors, and which agreements were in force on a date.
//
// An agreement is in force on D when ValidFrom <= D <= ValidUntil (as
// last amended; a network agreement without ValidUntil runs until further
// notice and never expires) and it was not terminated on or before D (a termination's
// date is the first day out of force), as domain/agreement defines it.
//
// The tables live in a schema chosen by the caller ("agreements_v1", …):
// DDL(schema) creates them, New(schema) fills them, NewQueries(db, schema)
// reads them; every name is quoted with pgx.Identifier.
package agreements
