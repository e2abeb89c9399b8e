// Package stats is the statistics read model: the national annual table
// that Kaikukeskus publishes and the local breakdowns (by locality, issuer,
// venue, month, age group, postal area and category) that coordinators read.
//
// # Storage and rebuilds
//
// The read model's tables live in one PostgreSQL schema whose name the
// caller chooses ("stats_v1", "stats_v2", …), so that a new version can be
// rebuilt beside the live one while reads continue and then switched to.
// DDL(schema) creates the tables; New(schema) is the projection that fills
// them; NewQueries(db, schema) reads them. No schema name is hard-coded and
// every name is quoted with pgx.Identifier.
//
// The model keeps facts, not pre-aggregated counters: one row per card
// (cards) and one row per use (uses), each already labelled with everything
// the breakdowns group by (issuer, venue, both localities, category, the
// holder's age group, the postal area). Every figure is then an exact
// aggregate at query time, and "cards used" stays a true count of distinct
// cards over any date range, which running counters cannot give. A
// cancelled use keeps its row with cancelled = true and counts nowhere.
//
// With WithBatchFlush, Handle does not write a statement per event: card
// and use rows are buffered in memory and written with COPY (or one
// multi-row INSERT for small batches) when the driver calls Flush, inside
// the transaction that also stores the checkpoint; rare events
// (localities, guideline versions, corrections, cancellations of already
// written uses) are written at once. Without it (the default, safe under a
// runtime that has no flush hook) each Handle writes its own rows.
//
// WithBuildMode (used only by catalog.Rebuild for a version built beside
// the live one) goes further: PrepareBuild drops the secondary indexes of
// the empty schema, a cancellation of a use still in the page buffer is
// applied in memory and one of a use written by an earlier page is
// recorded in a side table, and FinishBuild, once the build has caught up
// and before the switch, applies those cancellations in one join and
// recreates the indexes, leaving exactly the schema DDL creates. No event
// of a build needs an index lookup beyond the cards' primary key.
//
// # Attribution and definitions
//
//   - A card belongs to its issuer's locality; a use belongs to its venue's
//     locality (Filter.Locality and GroupBy "locality" follow this). The
//     issuer of a use is the issuer of the card it was recorded on.
//   - Replacement cards continue the holder's original card (its "root"):
//     they are not new registrations, and "cards used" counts distinct
//     roots, so a holder who used both the lost card and its replacement
//     in one year counts once. Renewals keep the card number and change
//     nothing here.
//   - The postal area is the first three digits of the holder's postal
//     code (the postal district, e.g. "021" for Espoo's 021xx codes). The
//     full code is never stored: it gives cells too small to publish and
//     the read model should hold less than the log, not as much.
//   - The age group is the holder's age in the use's year (for
//     registrations, the year of issue), counted by birth year as the
//     guideline counts it, bucketed by the rules' AgeBands ("16-24", …,
//     "65+", or "<16").
//
// # Counting under rules
//
// The live projection labels each use under the guideline version in force
// on the use's date (each card under the version in force on its issue
// date). A projection built WithRules(r) labels everything under r, which
// restates history under one version. What a restatement can change is
// limited to what the log records:
//   - AgeBands: fully restated (age groups of uses and registrations).
//   - ChildTicketsForCourses: when r does not allow children's tickets with
//     courses, tickets recorded with course uses (allowed under an older
//     version) are not counted as children's tickets.
//   - ChildTicketMaxAge: not restatable. A use records only how many
//     children's tickets were taken, never the children's ages, so no
//     figure can be recounted under another age limit; the figures are
//     those recorded.
//
// # Small cells
//
// Breakdown and National return exact figures. Every answer to a role
// other than national is suppressed by package disclosure's one policy:
// Suppress for a breakdown, DisclosedNational for the national table
// (whose figures are totals over localities and are protected as such).
package stats
