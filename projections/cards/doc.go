// Package cards is the read model behind the card check at a venue's
// counter and a venue's list of its own uses: every registered card with
// its validity periods, cancellation and replacement, its holder's
// registered details (never a name, identity code, birth date or
// address: the log has none), every use recorded on it, and the facts of
// partners and localities a use is checked against.
//
// The check answers from card.Standing, the rule RecordUse applies, so
// "usable here today" is exactly what recording a use would decide (as
// far as the log has reached this read model).
//
// # Storage and rebuilds
//
// The tables live in one PostgreSQL schema chosen by the caller
// ("cards_v1", "cards_v2", …): DDL(schema) creates them, New(schema) fills
// them and NewQueries(db, schema) reads them; every name is quoted with
// pgx.Identifier. Each event is applied in one round trip and is
// idempotent by position (a redelivered event changes nothing).
package cards
