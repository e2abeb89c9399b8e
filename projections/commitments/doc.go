// Package commitments is the read model of guideline commitments: for
// each partner, the version of the national guideline it committed to (how
// and when), and whether that is the version in force on a given date.
//
// A partner's status on a date D is, among the partners in the network on
// D (joined on or before D, not left by D):
//   - committed: it had committed, on or before D, to the version in force
//     on D (the version with the latest effective date on or before D);
//   - outdated: it had committed only to other versions by D;
//   - missing: it had made no commitment by D.
//
// Before any version takes effect there is nothing newer to commit to, so
// any commitment counts as committed.
//
// The tables live in a schema chosen by the caller ("commitments_v1", …):
// DDL(schema) creates them, New(schema) fills them, NewQueries(db, schema)
// reads them; every name is quoted with pgx.Identifier. The statuses are
// computed by the query, so one read model answers for any date.
package commitments
