// Package command is Kaiku's write side: one Handler method per command,
// each loading the aggregates it needs from the domain.EventStore port,
// letting the target aggregate decide, and appending its new events with
// the version it read (optimistic concurrency).
//
// When an append meets domain.ErrConflict (someone appended to the stream
// first) the handler reloads everything, cross-aggregate facts included,
// and decides again, up to a configurable number of retries (5 by
// default); only then is the conflict returned. A command therefore never
// acts on stale state, and concurrent uses of one card all land.
//
// Every command carries a business date (issuedOn, usedOn, on, …); a zero
// date means today by the handler's clock. Rules are checked as of that
// date and the events' OccurredAt is that date at 00:00 UTC, so history
// entered late lands on the right day.
//
// Errors: a *domain.Invalid for malformed input (400), a *domain.Violation
// for a broken rule (422), domain.ErrNotFound when the command's target
// does not exist (404), domain.ErrConflict after the retries (409), and
// store errors otherwise.
package command
