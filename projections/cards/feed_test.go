package cards_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/projections/projectiontest"
)

// given is one event for the shared feeder, which sends it through the
// real store and the log as the runtime hands it on.
type given projectiontest.Given

func feed(t *testing.T, pool *pgxpool.Pool, h projectiontest.Handler, evs ...given) []domain.Record {
	t.Helper()
	gs := make([]projectiontest.Given, len(evs))
	for i, g := range evs {
		gs[i] = projectiontest.Given(g)
	}
	return projectiontest.Feed(t, pool, h, gs...)
}

var (
	apply    = projectiontest.Apply
	mustExec = projectiontest.MustExec
)

func d(s string) domain.Date { return domain.MustDate(s) }
