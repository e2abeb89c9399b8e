package httpapi

import (
	"context"
	"time"

	"github.com/kaiku/kaiku/domain/audit"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/projections"
	"github.com/kaiku/kaiku/projections/agreements"
	"github.com/kaiku/kaiku/projections/cards"
	"github.com/kaiku/kaiku/projections/commitments"
	"github.com/kaiku/kaiku/projections/compliance"
	"github.com/kaiku/kaiku/projections/contacts"
	"github.com/kaiku/kaiku/projections/history"
	"github.com/kaiku/kaiku/projections/network"
	"github.com/kaiku/kaiku/projections/stats"
)

// Deps is what the API's routes (Routes) need. Commands, Views and Now
// are required; Projections and Verify may be nil, and their routes then
// answer 500 (a wiring mistake, logged).
type Deps struct {
	// Commands runs every command. Build it with command.WithRetries(8)
	// or more, so that eight venues recording uses of one card at once
	// all succeed (each lost race means another append succeeded).
	Commands *command.Handler
	// Views resolves the live read models per request.
	Views Views
	// Projections reports the projections' state for GET /v1/projections
	// (a *projections.Runner).
	Projections StatusSource
	// Verify proves the log's hash chain and seals for GET
	// /v1/audit/verify, e.g. postgres.Verify with the pool and seal key
	// bound in. A tampered log is a report with FirstBad set, not an
	// error; an error is a failure to verify at all.
	Verify func(ctx context.Context) (audit.Report, error)
	// Now gives today for queries without a date (UTC is taken).
	Now func() time.Time
	// Fence, when set, names the transaction holding the log's read fence
	// in GET /v1/projections once it holds readers back too long.
	Fence *FenceWatch
}

// Views resolves the read models' live queries. The live schema of a
// projection changes when it is rebuilt beside the old one and switched,
// so routes ask for the queries on every request instead of holding them.
// Each method returns the queries, or the error that kept it from
// resolving them (a 500).
type Views interface {
	Stats(ctx context.Context) (*stats.Queries, error)
	// StatsRestated returns the statistics restated under the rules of
	// guideline version v (built by `kaiku rebuild statistics --rules v`),
	// and false when no such build exists.
	StatsRestated(ctx context.Context, v guideline.Version) (*stats.Queries, bool, error)
	// StatsAsOf returns statistics built from the log as it was recorded
	// up to t (stats.AsOf) and a function that drops the temporary build,
	// which the route calls when it has answered.
	StatsAsOf(ctx context.Context, t time.Time) (*stats.Queries, func(context.Context) error, error)
	Contacts(ctx context.Context) (*contacts.Queries, error)
	Commitments(ctx context.Context) (*commitments.Queries, error)
	Agreements(ctx context.Context) (*agreements.Queries, error)
	History(ctx context.Context) (*history.Queries, error)
	Compliance(ctx context.Context) (*compliance.Queries, error)
	Network(ctx context.Context) (*network.Queries, error)
	Cards(ctx context.Context) (*cards.Queries, error)
}

// StatusSource reports the projections' state (projections.Runner).
type StatusSource interface {
	Status(ctx context.Context) ([]projections.Status, error)
}

// today is the UTC date of d.Now.
func (d Deps) today() time.Time {
	if d.Now == nil {
		return time.Now().UTC()
	}
	return d.Now().UTC()
}
