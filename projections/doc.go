// Package projections is the runtime every read model plugs into: it feeds
// each Projection the global log in order, applies every event inside a
// PostgreSQL transaction that also advances the projection's checkpoint
// (table projection_checkpoints), and reports position, lag and state for
// /v1/projections and Prometheus. The read models live in sub-packages
// (projections/stats, …); each implements Projection.
//
// Exactly-once effects. The log is delivered at least once (package
// logbus); the runner makes the effects exactly-once: a transaction locks
// the projection's checkpoint row, skips records at or below it, applies
// the rest, moves the checkpoint to the last one and commits. A failure
// rolls back rows and checkpoint together; a crash leaves the last commit;
// a redelivered event is skipped; two runners of one projection (two
// processes) serialise on the row lock.
//
// Two paths, one semantics. A projection that is behind (at start, after a
// restart, in a rebuild) catches up on the fast path: the runner reads the
// log by keyset in pages of Config.PageSize, prefetching the next page
// while it applies the current one, and applies a page per transaction.
// Once a page comes back short it is live: it runs as a Watermill router
// handler named Name()+".OnEvent", fed by a logbus.Subscriber that starts
// at the checkpoint. Each message is applied with the events already
// waiting behind it (up to Config.BatchSize, read with the same keyset) in
// one transaction. Both paths use the same apply function and the same
// middleware chain. The split exists because Watermill's router hands out
// one message at a time (a goroutine, the middleware chain, an ack
// round-trip per message): fine for live traffic, several times slower than
// a page loop for a backlog; see BenchmarkCatchUp and BenchmarkRouter.
//
// Failures. A handler error is retried with exponential backoff by
// Watermill's middleware.Retry (Config.Retry); panics become errors
// (middleware.Recoverer). When the retries run out the event is poison: it
// is recorded in projection_parked, and by default (PoisonStop) the
// projection stops just before it, in state "failed", visible in Status,
// until Resume or a restart. Read models are counts and current states; one
// skipped event makes every later figure silently wrong, and the brief
// promises that a crash "never double-counts or loses", so stopping loudly
// is the right default. PoisonSkip moves the checkpoint past the event in
// the same transaction that parks it (skipped = true): for projections
// where a hole is acceptable and availability matters more (a history
// feed).
//
// Rebuild runs Reset and a full replay in ONE transaction: readers keep
// seeing the old read model (MVCC) until the commit switches to the new one
// atomically, and a failed rebuild leaves the old one untouched. The live
// handler of that projection waits on the checkpoint row lock meanwhile.
package projections
