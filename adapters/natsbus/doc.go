// Package natsbus scales Kaiku's projectors out over NATS JetStream.
//
// One Forwarder (inside `kaiku serve --bus nats://…`, one active at a time
// by a PostgreSQL advisory lock) copies the global log, in order and from
// where the stream ends, into one JetStream stream: every record becomes
// one message on the subject Prefix + "." + hex(stream id), its envelope in
// headers (adapters/logbus's metadata, marshaled by watermill-nats's
// NATSMarshaler), Nats-Msg-Id = event id and Nats-Expected-Last-Sequence =
// the sequence the stream must have before it. The server therefore
// refuses any message that would land out of order or after a gap, and a
// forwarder that lost its lock cannot interleave with its successor.
//
// Log reads that stream back as a read-only domain.EventStore (ReadAll,
// ReadStream, Head, CountAfter, WaitForAppend), so the unchanged
// projections.Runner builds read models in `kaiku project` processes that
// only see NATS and the read-model PostgreSQL. Every reader sees the whole
// log in global order; the runner's checkpoint row lock keeps two
// processes from applying one event twice.
package natsbus
