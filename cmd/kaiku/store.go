package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/kaiku/kaiku/adapters/eventstoredb"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
)

// openStore returns the event store the configuration names: the
// PostgreSQL log (on a pool of its own, see openStorePool) by default, or
// KurrentDB/EventStoreDB for a kurrentdb:// or esdb:// URL. close releases
// it.
func (c *config) openStore(ctx context.Context) (store domain.EventStore, close func(), err error) {
	switch s := c.Store; {
	case s == "" || s == "postgres":
		pool, err := c.openStorePool(ctx)
		if err != nil {
			return nil, nil, err
		}
		st := postgres.NewStore(pool)
		if err := c.sealPersonal(ctx, st, pool); err != nil {
			st.Close()
			pool.Close()
			return nil, nil, err
		}
		return st, func() { st.Close(); pool.Close() }, nil
	case strings.Contains(s, "://"):
		es, err := eventstoredb.New(ctx, s)
		if err != nil {
			return nil, nil, fmt.Errorf("KurrentDB at %s: %w (check KAIKU_STORE / --store, or use --store postgres)", redactURL(s), err)
		}
		return es, func() { es.Close() }, nil
	default:
		return nil, nil, fmt.Errorf("--store %q: use postgres, or a kurrentdb:// or esdb:// URL", s)
	}
}
