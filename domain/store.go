package domain

import "context"

// EventStore is the log: append-only streams with optimistic concurrency,
// and one global order over all of them.
//
// Guarantees every implementation gives (and eventstoretest.Run checks):
//   - Append is atomic: all of its records are stored or none is.
//   - Append with expected version v succeeds only when the stream's version
//     is v (NoStream: the stream has no events); otherwise it returns an
//     error wrapping ErrConflict and stores nothing. AnyVersion skips the check.
//   - Append is idempotent by event id: when every record's ID was already
//     appended to the same stream, it stores nothing and returns the records
//     as first stored. Ids that exist elsewhere are an ErrConflict.
//   - ReadAll returns records in global order with Position > after. A reader
//     that calls ReadAll repeatedly, passing the last Position it saw, sees
//     every committed event exactly once and in order, even when appends
//     commit out of order: a record is returned only once no earlier
//     position can still appear.
//   - Within a stream, global order follows version order.
type EventStore interface {
	// Append appends records to stream at expected version and returns them
	// with Version, Position and RecordedAt assigned.
	Append(ctx context.Context, stream StreamID, expected Version, records ...Record) ([]Record, error)
	// AppendBatch appends to several streams atomically (imports, seeding).
	// Each StreamAppend is checked as Append checks it.
	AppendBatch(ctx context.Context, batch []StreamAppend) ([]Record, error)
	// ReadStream returns the stream's records with Version > after, in
	// version order. A stream that does not exist is empty, not an error.
	ReadStream(ctx context.Context, stream StreamID, after Version) ([]Record, error)
	// ReadAll returns at most limit records of the global log with
	// Position > after, in order.
	ReadAll(ctx context.Context, after Position, limit int) ([]Record, error)
}

// StreamAppend is one stream's part of an AppendBatch.
type StreamAppend struct {
	Stream   StreamID
	Expected Version
	Records  []Record
}

// AppendNotifier is implemented by stores that can wake global-log readers
// when something was appended, so they need not poll tightly. Wait returns
// when an append may have happened since the call, or when ctx ends.
type AppendNotifier interface {
	WaitForAppend(ctx context.Context) error
}
