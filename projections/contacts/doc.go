// Package contacts is the read model of who to call: each partner's
// current contact person (exactly one) and the history of its contacts,
// the partners of each locality with their kind, category and state, and
// each locality's coordinators.
//
// # Storage and rebuilds
//
// The tables live in one PostgreSQL schema chosen by the caller
// ("contacts_v1", "contacts_v2", …) so that a new version can be rebuilt
// beside the live one: DDL(schema) creates them, New(schema) fills them
// and NewQueries(db, schema) reads them. Every name is quoted with
// pgx.Identifier; no schema is hard-coded.
//
// # Dates
//
// A contact is valid from its business date (partner.Joined's JoinedOn,
// partner.ContactChanged's On) until the next contact's date, so a change
// entered late with an earlier date lands in the right place of the
// history instead of on top of it. The current contact of a partner is the
// one with no successor (the latest by business date, ties broken by log
// order). Coordinators follow the same rule per locality and side.
//
// # Personal data
//
// This is one of the two read models that hold contact personal data
// (name, e-mail, phone), because answering "who is the contact" needs it.
// Every row keeps the person's erasure subject next to the data, and
// Queries.Erase nulls the data of one subject.
package contacts
