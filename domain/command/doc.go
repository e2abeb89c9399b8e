// Package command is Kaiku's write side: one Handler method per command,
// each loading the aggregates it needs from the domain.EventStore port,
// letting the target aggregate decide, and appending its new events with
// the version it read (optimistic concurrency).
//
// When an append meets domain.ErrConflict (someone appended to the stream
// first) the handler reads the target stream again (and, without the
// cache, every other stream the command consults) and decides again, up to
// a configurable number of retries (5 by default); only then is the
// conflict returned. Concurrent uses of one card therefore all land, and a
// command never appends on a stale target.
//
// # The aggregate cache
//
// Without WithCache every command reads in full every stream it needs:
// RecordUse reads the card, the venue, the card's locality, the venue's
// locality when it differs, and the guideline, then appends once. With
// WithCache(ttl) the handler keeps decoded streams in memory (bounded,
// least recently used first out; see WithCacheSize) and reads as follows.
//
//   - The target stream (the card for a card command, the partner for a
//     partner command, …) is decided on as cached, without a read. The
//     append's expected version is the cached version, so when another
//     process appended meanwhile the store refuses the append with
//     domain.ErrConflict; the handler then reads only the events after the
//     cached version and decides again (the retry above). A decision not
//     to append (a rule violation, not found, or nothing to do) is not
//     guarded by an append, so when it was taken on cached state the
//     handler reads the newer events and decides again before returning
//     it: a refusal is never caused by a stale target.
//   - Every successful append is written through: the cache takes the
//     appended events, so a command that starts after another command of
//     the same Handler returned sees its events, target or reference.
//   - Reference streams (the partners, localities and guideline a command
//     consults besides its target) are taken from the cache when the store
//     confirmed their version less than ttl ago, and otherwise refreshed
//     with a read of the events after the cached version.
//   - LoadCard, LoadPartner, LoadLocality, LoadAgreement and Guideline
//     always ask the store for newer events (one read, decoding only what
//     is new).
//
// Staleness window: a command of one Handler may decide on a reference
// stream that lacks events another process (or another Handler) committed
// less than ttl before the command consults it, and nothing older. An
// entry filled or confirmed by a read (or by an append of this Handler)
// that started at T holds every event committed before T, and serves as a
// reference until T+ttl. Nothing else is stale: target streams are guarded
// as described, and the Handler's own appends are seen at once.
// Such a window is no new kind of race: checks across aggregates were
// never atomic (a venue leaving in one request while a use is recorded in
// another could always go either way), and business dates decide what
// counts: a departure dated before the use still refuses uses once
// visible, and reports follow the dates, not the order of recording.
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
