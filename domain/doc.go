// Package domain holds what every part of Kaiku shares: the event envelope
// (Record), the event store port (EventStore), business dates (Date),
// principals, the registry that turns typed events into records and back,
// and the error kinds the HTTP layer maps to status codes.
//
// The aggregates live in sub-packages (locality, partner, agreement,
// guideline, card); they import only the standard library and this package.
// Nothing under domain imports pgx, watermill, chi or the KurrentDB client.
package domain
