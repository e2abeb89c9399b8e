package postgres_test

import (
	"testing"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/eventstoretest"
)

// A log restored into a cluster with lower transaction ids is simulated
// here by storing events far above the cluster's next transaction id (the
// restore drill, TestRestoreDrill, does it with real clusters): Migrate
// raises the epoch, and the log goes on in order with its chain.
func TestMigrateRaisesTheEpochOfALogAheadOfTheCluster(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := t.Context()
	first, err := s.Append(ctx, "card-E-1", domain.NoStream, eventstoretest.NewRecords(1, 3)...)
	if err != nil {
		t.Fatal(err)
	}
	if off, raises, err := postgres.Epoch(ctx, pool); err != nil || off != 0 || len(raises) != 0 {
		t.Fatalf("fresh log: epoch %d, raises %v, err %v; want 0, none", off, raises, err)
	}
	// "Restored" events: 2^30 transaction ids above this cluster's next
	// one, far more than the shared test server can use meanwhile.
	if _, err := pool.Exec(ctx, `INSERT INTO events (position, event_id, stream, version, type, schema_version, occurred_at, principal, data)
		SELECT kaiku_xid_position(pg_snapshot_xmax(pg_current_snapshot())) + (1::bigint << 50) + i,
			gen_random_uuid(), 'restored-1', i, 'test.restored.v1', 1, now(), 'system', '{}'
		FROM generate_series(1, 3) i`); err != nil {
		t.Fatal(err)
	}
	var restoredHead int64
	if err := pool.QueryRow(ctx, `SELECT max(position) FROM events`).Scan(&restoredHead); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Migrate(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	off, raises, err := postgres.Epoch(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(raises) != 1 || off != raises[0].NewOffset || raises[0].OldOffset != 0 || int64(raises[0].LogHead) != restoredHead {
		t.Fatalf("after Migrate: epoch %d, raises %+v; want one raise from 0 over log head %d", off, raises, restoredHead)
	}
	if _, err := postgres.Migrate(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	if off2, raises2, _ := postgres.Epoch(ctx, pool); off2 != off || len(raises2) != 1 {
		t.Fatalf("a second Migrate changed the epoch: %d → %d, %d raises", off, off2, len(raises2))
	}

	// Every append path lands above the restored head, in append order.
	var appended []domain.Record
	add := func(rs []domain.Record, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		appended = append(appended, rs...)
	}
	add(s.Append(ctx, "card-E-2", domain.NoStream, eventstoretest.NewRecords(10, 1)...))
	add(s.Append(ctx, "card-E-3", domain.NoStream, eventstoretest.NewRecords(20, 3)...))
	add(s.AppendBatch(ctx, []domain.StreamAppend{
		{Stream: "card-E-4", Expected: domain.NoStream, Records: eventstoretest.NewRecords(30, 2)},
		{Stream: "card-E-5", Expected: domain.NoStream, Records: eventstoretest.NewRecords(40, 2)},
	}))
	add(postgres.NewStoreInsertBatches(pool).AppendBatch(ctx, []domain.StreamAppend{
		{Stream: "card-E-6", Expected: domain.NoStream, Records: eventstoretest.NewRecords(50, 2)},
		{Stream: "card-E-7", Expected: domain.NoStream, Records: eventstoretest.NewRecords(60, 2)},
	}))
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.AppendTx(ctx, tx, "card-E-8", domain.NoStream, eventstoretest.NewRecords(70, 2)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	appended = append(appended, rs...)
	last := domain.Position(restoredHead)
	for _, r := range appended {
		if r.Position <= last {
			t.Fatalf("appended %s/%d at %d, not above %d", r.Stream, r.Version, r.Position, last)
		}
		last = r.Position
	}

	// A reader from 0 sees the old, the restored and the new events once,
	// in that order; the chain covers them all and verifies.
	got := readUntil(t, s, 0, len(first)+3+len(appended))
	if more, err := s.ReadAll(ctx, last, 10); err != nil || len(more) > 0 {
		t.Fatalf("read %d more events after the last appended, %v", len(more), err)
	}
	for i, r := range got[len(got)-len(appended):] {
		if r.ID != appended[i].ID || r.Position != appended[i].Position {
			t.Fatalf("event %d read back as %s@%d, appended as %s@%d", i, r.ID, r.Position, appended[i].ID, appended[i].Position)
		}
	}
	c := postgres.NewChainer(pool, postgres.ChainerConfig{})
	if n, err := c.Chain(ctx); err != nil || n != len(got) {
		t.Fatalf("chained %d, %v; want %d", n, err, len(got))
	}
	if _, err := c.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := postgres.Verify(ctx, pool, nil)
	if err != nil || rep.FirstBad != nil || rep.Chained != int64(len(got)) {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}
