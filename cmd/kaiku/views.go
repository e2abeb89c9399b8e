package main

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/guideline"
	"github.com/kaiku/kaiku/projections/agreements"
	"github.com/kaiku/kaiku/projections/cards"
	"github.com/kaiku/kaiku/projections/catalog"
	"github.com/kaiku/kaiku/projections/commitments"
	"github.com/kaiku/kaiku/projections/compliance"
	"github.com/kaiku/kaiku/projections/contacts"
	"github.com/kaiku/kaiku/projections/history"
	"github.com/kaiku/kaiku/projections/network"
	"github.com/kaiku/kaiku/projections/stats"
)

// views resolves the live version of each read model per request through
// the catalog (one primary-key lookup), so a rebuild's switch reaches every
// reader at once.
type views struct {
	pool  *pgxpool.Pool
	store domain.EventStore
}

func live[Q any](ctx context.Context, v views, name string, mk func(*pgxpool.Pool, string) Q) (Q, error) {
	s, err := catalog.Live(ctx, v.pool, name)
	if err != nil {
		var zero Q
		return zero, err
	}
	return mk(v.pool, s), nil
}

func (v views) Stats(ctx context.Context) (*stats.Queries, error) {
	return live(ctx, v, catalog.Stats, func(p *pgxpool.Pool, s string) *stats.Queries { return stats.NewQueries(p, s) })
}

func (v views) StatsRestated(ctx context.Context, rules guideline.Version) (*stats.Queries, bool, error) {
	s, err := catalog.Restated(ctx, v.pool, string(rules))
	if errors.Is(err, domain.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return stats.NewQueries(v.pool, s), true, nil
}

func (v views) StatsAsOf(ctx context.Context, t time.Time) (*stats.Queries, func(context.Context) error, error) {
	return stats.AsOf(ctx, v.pool, v.store, t)
}

func (v views) Contacts(ctx context.Context) (*contacts.Queries, error) {
	return live(ctx, v, catalog.Contacts, func(p *pgxpool.Pool, s string) *contacts.Queries { return contacts.NewQueries(p, s) })
}

func (v views) Commitments(ctx context.Context) (*commitments.Queries, error) {
	return live(ctx, v, catalog.Commitments, func(p *pgxpool.Pool, s string) *commitments.Queries { return commitments.NewQueries(p, s) })
}

func (v views) Agreements(ctx context.Context) (*agreements.Queries, error) {
	return live(ctx, v, catalog.Agreements, func(p *pgxpool.Pool, s string) *agreements.Queries { return agreements.NewQueries(p, s) })
}

func (v views) History(ctx context.Context) (*history.Queries, error) {
	return live(ctx, v, catalog.History, func(p *pgxpool.Pool, s string) *history.Queries { return history.NewQueries(p, s) })
}

func (v views) Compliance(ctx context.Context) (*compliance.Queries, error) {
	return live(ctx, v, catalog.Compliance, func(p *pgxpool.Pool, s string) *compliance.Queries { return compliance.NewQueries(p, s) })
}

func (v views) Network(ctx context.Context) (*network.Queries, error) {
	return live(ctx, v, catalog.Network, func(p *pgxpool.Pool, s string) *network.Queries { return network.NewQueries(p, s) })
}

func (v views) Cards(ctx context.Context) (*cards.Queries, error) {
	return live(ctx, v, catalog.Cards, func(p *pgxpool.Pool, s string) *cards.Queries { return cards.NewQueries(p, s) })
}
