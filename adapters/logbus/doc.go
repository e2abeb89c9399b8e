// Package logbus puts Watermill on top of Kaiku's log: a message.Subscriber
// that delivers the global log (or one category or stream of it) in
// position order from a start position, and a message.Publisher that
// appends messages to the log. It speaks only to the domain.EventStore
// port, so it works over any store (PostgreSQL, KurrentDB).
//
// Topics. The topic AllTopic ("events") is the whole log. Any other topic
// selects the records whose stream category equals it ("card" for
// "card-K-1") or whose stream equals it ("card-K-1"). Publishing to a topic
// appends to the stream named by the message's "stream" metadata, or to the
// stream named like the topic.
//
// Delivery. The subscriber is a cursor over the log, not a queue: it reads
// by keyset (ReadAll after the last position, in pages; it never re-scans
// the backlog), hands out one message at a time, moves on only after Ack,
// and hands out the same event again after Nack, so it never skips and
// never reorders. The cursor lives in memory; a new subscription starts at
// the position SubscriberConfig.From returns (a projection's checkpoint), so
// delivery across restarts is at-least-once and consumers that need
// exactly-once effects commit their checkpoint with their writes (see
// package projections).
//
// Messages. RecordToMessage and MessageToRecord convert between the log's
// envelope and Watermill messages (the NATS scale-out reuses them): the
// message UUID is the event id, the payload is Record.Data, and the
// envelope travels in metadata under the Meta* keys. Messages that carry no
// envelope (no "type" metadata: plain Watermill traffic) are kept whole in a
// record of type ForeignType, so that their payload, metadata and UUID come
// back out unchanged.
package logbus
