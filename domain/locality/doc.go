// Package locality models a locality of the Kaikukortti network: one or
// more municipalities (optionally with a wellbeing services county) that
// join as a pilot, become established, hold feedback meetings, have
// coordinators on the culture and the social-and-health side, and may
// leave. Its card scope decides whether its cards and venues serve only
// each other (local) or the whole network (national).
//
// Dates follow one convention throughout: a fact that ends something
// (PilotConcluded, Left) takes effect on its date, so a locality that left
// on 2025-06-30 is no longer in the network on that day.
package locality
