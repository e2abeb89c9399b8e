package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/kaiku/kaiku/domain"
)

// Projection builds one read model from the log.
type Projection interface {
	// Name is stable: it keys the checkpoint, the handler name
	// (Name()+".OnEvent") and the metrics. Renaming a projection replays
	// the whole log into it.
	Name() string
	// Handle applies one event inside tx, the transaction that also moves
	// the checkpoint. ev is the decoded event, or nil when rec's type is
	// not registered in the domain registry (a projection that keeps every
	// envelope, such as history, still sees it). Handle must not commit or
	// roll back tx. An error rolls back the whole batch and is retried,
	// then treated as poison (see the package doc).
	Handle(ctx context.Context, tx pgx.Tx, rec domain.Record, ev domain.Event) error
}

// Resetter is implemented by projections that can be rebuilt: Reset
// empties the read model inside tx (DELETE or TRUNCATE its tables). The
// runner resets the checkpoint and replays the log in the same transaction.
type Resetter interface {
	Reset(ctx context.Context, tx pgx.Tx) error
}

// TypeFilter is implemented by projections that only care about some
// event types: EventTypes lists Record.Type values ("card.issued", no
// schema suffix). Other records are not decoded nor handed to Handle, but
// the checkpoint still moves past them. Nil or empty means every type.
type TypeFilter interface {
	EventTypes() []string
}

// HandlerName is the stable Watermill handler name of p: "stats.OnEvent".
func HandlerName(p Projection) string { return p.Name() + ".OnEvent" }
