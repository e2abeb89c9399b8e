package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
)

// The port chainer and verifier are tested over the PostgreSQL store read
// through the domain.EventStore port (no KurrentDB server runs here), so
// that the SQL Verify can judge the same log and chain beside them.

type chainer interface {
	Chain(ctx context.Context) (int, error)
	Seal(ctx context.Context) (*audit.Seal, error)
}

// chainAllWith is chainAll for either chainer.
func chainAllWith(tb testing.TB, c chainer, pool *pgxpool.Pool, want int) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := c.Chain(tb.Context()); err != nil && !errors.Is(err, postgres.ErrChainerBusy) {
			tb.Fatalf("chain: %v", err)
		}
		var n int
		if err := pool.QueryRow(tb.Context(), `SELECT count(*) FROM event_chain`).Scan(&n); err != nil {
			tb.Fatalf("count chain rows: %v", err)
		}
		if n == want {
			return
		}
		if n > want || time.Now().After(deadline) {
			tb.Fatalf("%d events chained, want %d", n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustVerifyPort(tb testing.TB, pool *pgxpool.Pool, key []byte) audit.Report {
	tb.Helper()
	r, err := postgres.VerifyPort(tb.Context(), pool, postgres.NewStore(pool), key)
	if err != nil {
		tb.Fatalf("verify through the port: %v", err)
	}
	return r
}

// sameReport fails unless the port and SQL verifications agree.
func sameReport(tb testing.TB, port, sql audit.Report) {
	tb.Helper()
	if port.Events != sql.Events || port.Chained != sql.Chained || port.Sealed != sql.Sealed || port.Seals != sql.Seals ||
		port.KeyedSeals != sql.KeyedSeals || port.UncheckedSeals != sql.UncheckedSeals ||
		port.Head.Position != sql.Head.Position || !bytes.Equal(port.Head.Hash, sql.Head.Hash) {
		tb.Fatalf("port report %+v differs from SQL report %+v", port, sql)
	}
	if (port.LastSeal == nil) != (sql.LastSeal == nil) || port.LastSeal != nil && !bytes.Equal(port.LastSeal.Hash, sql.LastSeal.Hash) {
		tb.Fatalf("port last seal %+v differs from SQL last seal %+v", port.LastSeal, sql.LastSeal)
	}
	switch p, s := port.FirstBad, sql.FirstBad; {
	case (p == nil) != (s == nil):
		tb.Fatalf("port problem %v, SQL problem %v", p, s)
	case p != nil && (p.Position != s.Position || p.Kind != s.Kind || p.Seal != s.Seal):
		tb.Fatalf("port problem %v differs from SQL problem %v", p, s)
	}
}

type chainRow struct {
	pos, prev int64
	id        string
	hash      []byte
}

func readChainRows(tb testing.TB, pool *pgxpool.Pool) []chainRow {
	tb.Helper()
	rows, err := pool.Query(tb.Context(), `SELECT position, prev_position, event_id::text, hash FROM event_chain ORDER BY position`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []chainRow
	for rows.Next() {
		var c chainRow
		if err := rows.Scan(&c.pos, &c.prev, &c.id, &c.hash); err != nil {
			tb.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestPortChainerWritesTheChainTheSQLChainerWrites(t *testing.T) {
	t.Parallel()
	key := []byte("KAIKU_SEAL_KEY for tests")
	cases := []struct {
		name     string
		pageSize int
		key      []byte
	}{
		{"chaining one event per page gives the SQL chain", 1, nil},
		{"chaining short pages that split the log unevenly gives the SQL chain", 4, nil},
		{"chaining the whole log in one page with a seal key gives the SQL chain", 0, key},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := pgtest.NewPool(t)
			port := postgres.NewPortChainer(pool, postgres.NewStore(pool), postgres.ChainerConfig{Key: tc.key, PageSize: tc.pageSize})
			auditAppend(t, pool, 7)
			chainAllWith(t, port, pool, 7)
			if s := mustSealWith(t, port); s == nil || s.Seq != 1 || s.Count != 7 || s.Keyed != (tc.key != nil) {
				t.Fatalf("first seal = %+v", s)
			}
			auditAppend(t, pool, 5)
			chainAllWith(t, port, pool, 12)
			mustSealWith(t, port)
			auditAppend(t, pool, 2) // the unchained tail
			waitReadable(t, pool, 14)

			portRep, sqlRep := mustVerifyPort(t, pool, tc.key), mustVerify(t, pool, tc.key)
			if portRep.FirstBad != nil || portRep.Events != 14 || portRep.Chained != 12 || portRep.Sealed != 12 || portRep.Seals != 2 {
				t.Fatalf("port report = %+v, problem %v", portRep, portRep.FirstBad)
			}
			sameReport(t, portRep, sqlRep)

			// The SQL chainer, chaining the same log afresh, writes the
			// same rows, and its seals verify through the port.
			byPort := readChainRows(t, pool)
			if _, err := pool.Exec(t.Context(), `TRUNCATE event_chain, seals`); err != nil {
				t.Fatal(err)
			}
			sqlChainer := postgres.NewChainer(pool, postgres.ChainerConfig{Key: tc.key})
			chainAllWith(t, sqlChainer, pool, 14)
			mustSealWith(t, sqlChainer)
			bySQL := readChainRows(t, pool)
			if len(byPort) != 12 || len(bySQL) != 14 {
				t.Fatalf("SQL chainer wrote %d rows, port chainer %d; want 14 and 12", len(bySQL), len(byPort))
			}
			for i := range byPort {
				p, q := byPort[i], bySQL[i]
				if p.pos != q.pos || p.prev != q.prev || p.id != q.id || !bytes.Equal(p.hash, q.hash) {
					t.Fatalf("chain row %d: port %+v, SQL %+v", i, p, q)
				}
			}
			portRep, sqlRep = mustVerifyPort(t, pool, tc.key), mustVerify(t, pool, tc.key)
			if portRep.FirstBad != nil || portRep.Chained != 14 || portRep.Sealed != 14 || portRep.Seals != 1 {
				t.Fatalf("port report over the SQL chain = %+v, problem %v", portRep, portRep.FirstBad)
			}
			sameReport(t, portRep, sqlRep)
		})
	}
}

func mustSealWith(tb testing.TB, c chainer) *audit.Seal {
	tb.Helper()
	s, err := c.Seal(tb.Context())
	if err != nil {
		tb.Fatalf("seal: %v", err)
	}
	return s
}

// waitReadable waits until ReadAll returns n events: the fence is cluster
// wide, so another test's open transaction can hold it back for a moment.
func waitReadable(tb testing.TB, pool *pgxpool.Pool, n int) {
	tb.Helper()
	store := postgres.NewStore(pool)
	deadline := time.Now().Add(30 * time.Second)
	for {
		rs, err := store.ReadAll(tb.Context(), 0, n+1)
		if err != nil {
			tb.Fatalf("read all: %v", err)
		}
		if len(rs) == n {
			return
		}
		if len(rs) > n || time.Now().After(deadline) {
			tb.Fatalf("%d events readable, want %d", len(rs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newPortFixture is newAuditFixture chained and sealed by the port chainer:
// pos[0..7] under seal 1, pos[8..11] under seal 2, pos[12..13] chained but
// unsealed, pos[14] unchained.
func newPortFixture(t *testing.T, key []byte) auditFixture {
	t.Helper()
	pool := pgtest.NewPool(t)
	c := postgres.NewPortChainer(pool, postgres.NewStore(pool), postgres.ChainerConfig{Key: key, PageSize: 3})
	pos := auditAppend(t, pool, 8)
	chainAllWith(t, c, pool, 8)
	mustSealWith(t, c)
	pos = append(pos, auditAppend(t, pool, 4)...)
	chainAllWith(t, c, pool, 12)
	mustSealWith(t, c)
	pos = append(pos, auditAppend(t, pool, 2)...)
	chainAllWith(t, c, pool, 14)
	pos = append(pos, auditAppend(t, pool, 1)...)
	waitReadable(t, pool, 15)
	r := mustVerifyPort(t, pool, key)
	if r.FirstBad != nil || r.Events != 15 || r.Chained != 14 || r.Sealed != 12 || r.Seals != 2 {
		t.Fatalf("intact log: report = %+v, problem %v", r, r.FirstBad)
	}
	return auditFixture{pool: pool, pos: pos}
}

func TestPortVerifierFindsTheFirstTamperedPositionAsVerifyDoes(t *testing.T) {
	t.Parallel()
	for _, tc := range tamperCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newPortFixture(t, tc.key)
			tc.tamper(t, f)
			r := mustVerifyPort(t, f.pool, tc.key)
			if r.FirstBad == nil {
				t.Fatalf("tampering went unnoticed: %+v", r)
			}
			if want := tc.want(f); r.FirstBad.Position != want || r.FirstBad.Kind != tc.kind {
				t.Fatalf("first bad = %v; want %s at %d", r.FirstBad, tc.kind, want)
			}
			sameReport(t, r, mustVerify(t, f.pool, tc.key))
		})
	}
}

func TestPortVerifierAcceptsErasedPersonalDataWithItsDigestKept(t *testing.T) {
	t.Parallel()
	f := newPortFixture(t, nil)
	f.exec(t, `INSERT INTO personal_digests (position, digest)
		SELECT position, sha256(convert_to(personal::text, 'UTF8')) FROM events WHERE position = $1`, f.pos[6])
	f.exec(t, `UPDATE events SET personal = NULL WHERE position = $1`, f.pos[6])
	r := mustVerifyPort(t, f.pool, nil)
	if r.FirstBad != nil || r.Chained != 14 || r.Sealed != 12 {
		t.Fatalf("report after erasure = %+v, problem %v", r, r.FirstBad)
	}
	sameReport(t, r, mustVerify(t, f.pool, nil))

	// The port chainer, too, chains an erased event by its kept digest
	// (event 15 carries personal data; it is erased before it is chained).
	erased := auditAppend(t, f.pool, 1)[0]
	f.exec(t, `INSERT INTO personal_digests (position, digest)
		SELECT position, sha256(convert_to(personal::text, 'UTF8')) FROM events WHERE position = $1`, erased)
	f.exec(t, `UPDATE events SET personal = NULL WHERE position = $1`, erased)
	c := postgres.NewPortChainer(f.pool, postgres.NewStore(f.pool), postgres.ChainerConfig{})
	chainAllWith(t, c, f.pool, 16)
	mustSealWith(t, c)
	if r := mustVerifyPort(t, f.pool, nil); r.FirstBad != nil || r.Chained != 16 || r.Sealed != 16 {
		t.Fatalf("report after chaining an erased event = %+v, problem %v", r, r.FirstBad)
	}

	f.exec(t, `UPDATE personal_digests SET digest = $2 WHERE position = $1`, f.pos[6], sha256.New().Sum(nil))
	r = mustVerifyPort(t, f.pool, nil)
	if r.FirstBad == nil || r.FirstBad.Position != f.pos[6] || r.FirstBad.Kind != audit.KindChanged {
		t.Fatalf("a changed kept digest went unnoticed: %v", r.FirstBad)
	}
	sameReport(t, r, mustVerify(t, f.pool, nil))
}

func TestPortChainerDoesNotSkipAnEventCommittedLate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewStore(pool)
	c := postgres.NewPortChainer(pool, store, postgres.ChainerConfig{PageSize: 2})
	before := auditAppend(t, pool, 2)
	chainAllWith(t, c, pool, len(before))

	// An append in flight: its position is below every append after it.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	late, err := store.AppendTx(ctx, tx, "test-late", domain.NoStream, auditRecord(100))
	if err != nil {
		t.Fatalf("append in tx: %v", err)
	}
	// The chainer runs while appends commit above the one in flight.
	stop := make(chan struct{})
	type result struct {
		n   int
		err error
	}
	res := make(chan result, 1)
	go func() {
		total := 0
		for {
			n, err := c.Chain(ctx)
			total += n
			if err != nil {
				res <- result{total, err}
				return
			}
			select {
			case <-stop:
				n, err := c.Chain(ctx)
				res <- result{total + n, err}
				return
			default:
			}
		}
	}()
	after := auditAppend(t, pool, 3)
	close(stop)
	got := <-res
	if got.err != nil {
		t.Fatalf("chain: %v", got.err)
	}
	if got.n != 0 {
		t.Fatalf("chained %d events above an append still in flight", got.n)
	}
	if late[0].Position > after[0] {
		t.Fatalf("the in-flight event at %d is not below later appends at %d", late[0].Position, after[0])
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	chainAllWith(t, c, pool, len(before)+1+len(after))
	mustSealWith(t, c)
	rows := readChainRows(t, pool)
	found := false
	for _, r := range rows {
		found = found || domain.Position(r.pos) == late[0].Position
	}
	if !found {
		t.Fatalf("the event committed late at %d was never chained", late[0].Position)
	}
	r := mustVerifyPort(t, pool, nil)
	if r.FirstBad != nil || r.Chained != 6 || r.Sealed != 6 {
		t.Fatalf("report = %+v, problem %v", r, r.FirstBad)
	}
	sameReport(t, r, mustVerify(t, pool, nil))
}

func TestPortChainerWaitsForAnotherChainer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	auditAppend(t, pool, 3)
	c := postgres.NewPortChainer(pool, postgres.NewStore(pool), postgres.ChainerConfig{})
	other, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback(ctx) //nolint:errcheck
	var locked bool
	if err := other.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(x'6b61696b7563686e'::bigint)`).Scan(&locked); err != nil || !locked {
		t.Fatalf("take the chain lock: %v %v", locked, err)
	}
	if n, err := c.Chain(ctx); !errors.Is(err, postgres.ErrChainerBusy) || n != 0 {
		t.Fatalf("chain while locked = %d, %v; want 0, ErrChainerBusy", n, err)
	}
	if s, err := c.Seal(ctx); !errors.Is(err, postgres.ErrChainerBusy) || s != nil {
		t.Fatalf("seal while locked = %v, %v; want ErrChainerBusy", s, err)
	}
	if err := other.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	chainAllWith(t, c, pool, 3)
}

func TestPortChainerRunChainsAndSealsUntilCancelled(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	auditAppend(t, pool, 5)
	c := postgres.NewPortChainer(pool, postgres.NewStore(pool), postgres.ChainerConfig{SealEvery: 1})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 10*time.Millisecond) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := mustVerifyPort(t, pool, nil)
		if r.FirstBad != nil {
			t.Fatalf("problem while running: %v", r.FirstBad)
		}
		if r.Sealed == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Run did not chain and seal the log: %+v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
