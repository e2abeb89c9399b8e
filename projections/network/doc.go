// Package network answers "what did the network look like on date D":
// its localities (with scope and pilot/established state), their partners
// (with state and contact person) and the agreements in force, as they
// stood on a past business date.
//
// Every fact is stored with a validity interval on business dates,
// [valid_from, valid_to) with valid_to NULL while open, so AsOf is one
// indexed query per kind of fact, not a replay. A fact's interval ends
// where the next fact of the same thing (by business date, then log
// order) begins; a fact entered late with an earlier business date (a
// contact change from paper forms, a departure) is slotted in by
// recomputing the intervals of that one thing, and the answer for a date
// before it is unchanged.
//
// Contact personal data is kept with its erasure subject; Queries.Erase
// nulls it. The tables live in a schema chosen by the caller
// ("network_v1", …): DDL(schema) creates them, New(schema) fills them,
// NewQueries(db, schema) reads them; every name is quoted with
// pgx.Identifier.
package network
