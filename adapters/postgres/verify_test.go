package postgres_test

import (
	"context"
	"crypto/sha256"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
)

// auditFixture is a log of 15 events: pos[0..7] under seal 1, pos[8..11]
// under seal 2, pos[12..13] chained but unsealed, pos[14] unchained.
// Events pos[0], pos[3], pos[6], pos[9] and pos[12] carry personal data.
type auditFixture struct {
	pool *pgxpool.Pool
	pos  []domain.Position
}

func newAuditFixture(t *testing.T, key []byte) auditFixture {
	t.Helper()
	pool := pgtest.NewPool(t)
	c := postgres.NewChainer(pool, postgres.ChainerConfig{Key: key})
	pos := auditAppend(t, pool, 8)
	chainAll(t, c, pool, 8)
	mustSeal(t, c)
	pos = append(pos, auditAppend(t, pool, 4)...)
	chainAll(t, c, pool, 12)
	mustSeal(t, c)
	pos = append(pos, auditAppend(t, pool, 2)...)
	chainAll(t, c, pool, 14)
	pos = append(pos, auditAppend(t, pool, 1)...)
	r := mustVerify(t, pool, key)
	if r.FirstBad != nil || r.Events != 15 || r.Chained != 14 || r.Sealed != 12 || r.Seals != 2 {
		t.Fatalf("intact log: report = %+v, problem %v", r, r.FirstBad)
	}
	return auditFixture{pool: pool, pos: pos}
}

func (f auditFixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := f.pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// entries reads every event as an attacker recomputing hashes would.
func (f auditFixture) entries(t *testing.T) []audit.Entry {
	t.Helper()
	rows, err := f.pool.Query(t.Context(), `SELECT position, event_id::text, stream, version, type, schema_version,
		occurred_at, recorded_at, principal, coalesce(correlation_id::text, ''), coalesce(causation_id::text, ''),
		coalesce(personal_subject, ''), data, personal FROM events ORDER BY position`)
	if err != nil {
		t.Fatal(err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Entry, error) {
		var e audit.Entry
		var personal []byte
		err := r.Scan(&e.Position, &e.ID, &e.Stream, &e.Version, &e.Type, &e.SchemaVersion, &e.OccurredAt, &e.RecordedAt,
			&e.Principal, &e.CorrelationID, &e.CausationID, &e.Subject, &e.Data, &personal)
		e.PersonalDigest = audit.PersonalDigest(personal)
		return e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// rewriteChain replaces event_chain with one recomputed from the events
// below position through (all events when through is 0).
func (f auditFixture) rewriteChain(t *testing.T, through domain.Position) {
	t.Helper()
	f.exec(t, `DELETE FROM event_chain`)
	var prev audit.Link
	for _, e := range f.entries(t) {
		if through != 0 && e.Position > through {
			break
		}
		h := audit.Hash(prev, e)
		f.exec(t, `INSERT INTO event_chain (position, hash, prev_position, event_id) VALUES ($1, $2, $3, $4)`,
			e.Position, h, prev.Position, e.ID)
		prev = audit.Link{Position: e.Position, Hash: h}
	}
}

// rewriteSeal recomputes seal seq over the chain as stored, hashed with key
// and marked keyed or not, as an attacker covering up would.
func (f auditFixture) rewriteSeal(t *testing.T, seq int64, key []byte, keyed bool) {
	t.Helper()
	ctx := t.Context()
	var s audit.Seal
	if err := f.pool.QueryRow(ctx, `SELECT seq, from_position, to_position, prev_seal_hash FROM seals WHERE seq = $1`, seq).
		Scan(&s.Seq, &s.From, &s.To, &s.PrevHash); err != nil {
		t.Fatal(err)
	}
	if err := f.pool.QueryRow(ctx, `SELECT count(*), (SELECT hash FROM event_chain WHERE position = $2)
		FROM event_chain WHERE position BETWEEN $1 AND $2`, s.From, s.To).Scan(&s.Count, &s.LastHash); err != nil {
		t.Fatal(err)
	}
	s.Hash = audit.SealHash(key, s)
	f.exec(t, `UPDATE seals SET event_count = $2, last_hash = $3, seal_hash = $4, keyed = $5 WHERE seq = $1`,
		seq, s.Count, s.LastHash, s.Hash, keyed)
}

// forge inserts a copy of the event at src at position at, as a new event.
func (f auditFixture) forge(t *testing.T, src, at domain.Position) {
	t.Helper()
	f.exec(t, `INSERT INTO events (position, event_id, stream, version, type, schema_version, occurred_at, recorded_at,
		principal, correlation_id, causation_id, data, personal, personal_subject)
		SELECT $2, gen_random_uuid(), stream, version + 1000, type, schema_version, occurred_at, recorded_at,
		principal, correlation_id, causation_id, '{"forged": true}', personal, personal_subject
		FROM events WHERE position = $1`, src, at)
}

// tamperCase is one tampering done with plain SQL and where verification
// must catch it: the first bad position and its kind.
type tamperCase struct {
	name   string
	key    []byte
	tamper func(t *testing.T, f auditFixture)
	want   func(f auditFixture) domain.Position
	kind   audit.Kind
}

// tamperCases are the tamperings both verifiers (SQL and port) must catch,
// on a fixture as newAuditFixture describes it.
func tamperCases() []tamperCase {
	key := []byte("KAIKU_SEAL_KEY for tests")
	return []tamperCase{
		{"updating an event's data is caught at that event", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE events SET data = '{"n": 3, "note": "forged"}' WHERE position = $1`, f.pos[3])
		}, func(f auditFixture) domain.Position { return f.pos[3] }, audit.KindChanged},
		{"updating an event's record time is caught at that event", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE events SET recorded_at = recorded_at + interval '1 microsecond' WHERE position = $1`, f.pos[5])
		}, func(f auditFixture) domain.Position { return f.pos[5] }, audit.KindChanged},
		{"updating an event's principal is caught at that event", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE events SET principal = 'national' WHERE position = $1`, f.pos[2])
		}, func(f auditFixture) domain.Position { return f.pos[2] }, audit.KindChanged},
		{"updating an event's personal data is caught at that event", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE events SET personal = '{"name":"Someone Else"}' WHERE position = $1`, f.pos[6])
		}, func(f auditFixture) domain.Position { return f.pos[6] }, audit.KindChanged},
		{"erasing personal data without keeping its digest is caught at that event", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE events SET personal = NULL WHERE position = $1`, f.pos[9])
		}, func(f auditFixture) domain.Position { return f.pos[9] }, audit.KindChanged},
		{"deleting an event is caught at its position", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `DELETE FROM events WHERE position = $1`, f.pos[4])
		}, func(f auditFixture) domain.Position { return f.pos[4] }, audit.KindMissing},
		{"deleting an event and its chain row is caught at its position", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `DELETE FROM events WHERE position = $1`, f.pos[4])
			f.exec(t, `DELETE FROM event_chain WHERE position = $1`, f.pos[4])
		}, func(f auditFixture) domain.Position { return f.pos[4] }, audit.KindMissing},
		{"deleting a chain row is caught at its event", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `DELETE FROM event_chain WHERE position = $1`, f.pos[7])
		}, func(f auditFixture) domain.Position { return f.pos[7] }, audit.KindChainMissing},
		{"inserting a forged event between two positions is caught at it", nil, func(t *testing.T, f auditFixture) {
			f.forge(t, f.pos[4], f.pos[4]+1)
		}, func(f auditFixture) domain.Position { return f.pos[4] + 1 }, audit.KindInserted},
		{"inserting a forged event with a forged chain row is caught at it", nil, func(t *testing.T, f auditFixture) {
			f.forge(t, f.pos[4], f.pos[4]+1)
			var prev audit.Link
			for _, e := range f.entries(t) {
				if e.Position == f.pos[4] {
					prev.Position = e.Position
					if err := f.pool.QueryRow(t.Context(), `SELECT hash FROM event_chain WHERE position = $1`, e.Position).Scan(&prev.Hash); err != nil {
						t.Fatal(err)
					}
				}
				if e.Position == f.pos[4]+1 {
					f.exec(t, `INSERT INTO event_chain (position, hash, prev_position, event_id) VALUES ($1, $2, $3, $4)`,
						e.Position, audit.Hash(prev, e), prev.Position, e.ID)
				}
			}
		}, func(f auditFixture) domain.Position { return f.pos[4] + 1 }, audit.KindInserted},
		{"swapping two events' positions is caught at the first", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE events SET position = -1 WHERE position = $1`, f.pos[2])
			f.exec(t, `UPDATE events SET position = $1 WHERE position = $2`, f.pos[2], f.pos[6])
			f.exec(t, `UPDATE events SET position = $1 WHERE position = -1`, f.pos[6])
		}, func(f auditFixture) domain.Position { return f.pos[2] }, audit.KindReordered},
		{"deleting the last sealed event with its chain row is caught at it", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `DELETE FROM events WHERE position = $1`, f.pos[11])
			f.exec(t, `DELETE FROM event_chain WHERE position = $1`, f.pos[11])
		}, func(f auditFixture) domain.Position { return f.pos[11] }, audit.KindMissing},
		{"deleting the last sealed event and everything after it is caught at it", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `DELETE FROM events WHERE position >= $1`, f.pos[11])
			f.exec(t, `DELETE FROM event_chain WHERE position >= $1`, f.pos[11])
		}, func(f auditFixture) domain.Position { return f.pos[11] }, audit.KindMissing},
		{"changing a seal is caught at the first event it covers", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE seals SET event_count = event_count + 1 WHERE seq = 2`)
		}, func(f auditFixture) domain.Position { return f.pos[8] }, audit.KindSeal},
		{"deleting a seal is caught where it began", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `DELETE FROM seals WHERE seq = 1`)
		}, func(f auditFixture) domain.Position { return f.pos[0] }, audit.KindSeal},
		{"rewriting the chain after changing an event is caught by the seal covering it", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE events SET data = '{"n": 9, "note": "forged"}' WHERE position = $1`, f.pos[9])
			f.rewriteChain(t, 0)
		}, func(f auditFixture) domain.Position { return f.pos[8] }, audit.KindSeal},
		{"rewriting the chain and a keyed seal without the key is caught by that seal", key, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE events SET data = '{"n": 9, "note": "forged"}' WHERE position = $1`, f.pos[9])
			f.rewriteChain(t, 0)
			f.rewriteSeal(t, 2, []byte("guessed key"), true)
		}, func(f auditFixture) domain.Position { return f.pos[8] }, audit.KindSeal},
		{"rewriting the chain and a keyed seal as unkeyed is caught by that seal", key, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE events SET data = '{"n": 9, "note": "forged"}' WHERE position = $1`, f.pos[9])
			f.rewriteChain(t, 0)
			f.rewriteSeal(t, 2, nil, false)
		}, func(f auditFixture) domain.Position { return f.pos[8] }, audit.KindSeal},
		{"rewriting the chain and every keyed seal as unkeyed is caught at the first", key, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE events SET data = '{"n": 9, "note": "forged"}' WHERE position = $1`, f.pos[9])
			f.rewriteChain(t, 0)
			f.rewriteSeal(t, 1, nil, false)
			f.rewriteSeal(t, 2, nil, false)
		}, func(f auditFixture) domain.Position { return f.pos[0] }, audit.KindSeal},
		{"updating an unsealed event's data is caught at that event", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE events SET data = '{"n": 13, "note": "forged"}' WHERE position = $1`, f.pos[13])
		}, func(f auditFixture) domain.Position { return f.pos[13] }, audit.KindChanged},
		{"changing personal data behind its kept true digest is caught at that event", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `INSERT INTO personal_digests (position, digest)
				SELECT position, sha256(convert_to(personal::text, 'UTF8')) FROM events WHERE position = $1`, f.pos[3])
			f.exec(t, `UPDATE events SET personal = '{"name":"Someone Else"}' WHERE position = $1`, f.pos[3])
		}, func(f auditFixture) domain.Position { return f.pos[3] }, audit.KindChanged},
		{"deleting the first event is caught at its position", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `DELETE FROM events WHERE position = $1`, f.pos[0])
		}, func(f auditFixture) domain.Position { return f.pos[0] }, audit.KindMissing},
		{"swapping two neighbouring events is caught at the first", nil, func(t *testing.T, f auditFixture) {
			f.exec(t, `UPDATE events SET position = -1 WHERE position = $1`, f.pos[9])
			f.exec(t, `UPDATE events SET position = $1 WHERE position = $2`, f.pos[9], f.pos[10])
			f.exec(t, `UPDATE events SET position = $1 WHERE position = -1`, f.pos[10])
		}, func(f auditFixture) domain.Position { return f.pos[9] }, audit.KindReordered},
	}
}

func TestVerifyFindsTheFirstTamperedPosition(t *testing.T) {
	t.Parallel()
	for _, tc := range tamperCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newAuditFixture(t, tc.key)
			tc.tamper(t, f)
			r := mustVerify(t, f.pool, tc.key)
			if r.FirstBad == nil {
				t.Fatalf("tampering went unnoticed: %+v", r)
			}
			if want := tc.want(f); r.FirstBad.Position != want || r.FirstBad.Kind != tc.kind {
				t.Fatalf("first bad = %v; want %s at %d", r.FirstBad, tc.kind, want)
			}
		})
	}
}

func TestVerifyAcceptsErasedPersonalDataWithItsDigestKept(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t, nil)
	// Erasure as it must be done: keep the digest, then drop the bytes.
	f.exec(t, `INSERT INTO personal_digests (position, digest)
		SELECT position, sha256(convert_to(personal::text, 'UTF8')) FROM events WHERE position = $1`, f.pos[6])
	f.exec(t, `UPDATE events SET personal = NULL WHERE position = $1`, f.pos[6])
	r := mustVerify(t, f.pool, nil)
	if r.FirstBad != nil || r.Chained != 14 || r.Sealed != 12 {
		t.Fatalf("report after erasure = %+v, problem %v", r, r.FirstBad)
	}
	f.exec(t, `UPDATE personal_digests SET digest = $2 WHERE position = $1`, f.pos[6], sha256.New().Sum(nil))
	if r := mustVerify(t, f.pool, nil); r.FirstBad == nil || r.FirstBad.Position != f.pos[6] {
		t.Fatalf("a changed kept digest went unnoticed: %v", r.FirstBad)
	}
}

func TestVerifyChecksStoredPersonalDataEvenWhenADigestIsKept(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t, nil)
	// An attacker keeps the true digest and changes the bytes.
	f.exec(t, `INSERT INTO personal_digests (position, digest)
		SELECT position, sha256(convert_to(personal::text, 'UTF8')) FROM events WHERE position = $1`, f.pos[3])
	f.exec(t, `UPDATE events SET personal = '{"name":"Someone Else"}' WHERE position = $1`, f.pos[3])
	if r := mustVerify(t, f.pool, nil); r.FirstBad == nil || r.FirstBad.Position != f.pos[3] || r.FirstBad.Kind != audit.KindChanged {
		t.Fatalf("changed personal data behind a kept digest went unnoticed: %v", r.FirstBad)
	}
}

func TestVerifyWithoutTheKeyChecksAllButTheHMAC(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t, []byte("k"))
	r := mustVerify(t, f.pool, nil)
	if r.FirstBad != nil || r.Seals != 2 || r.KeyedSeals != 2 || r.UncheckedSeals != 2 {
		t.Fatalf("report without key = %+v, problem %v", r, r.FirstBad)
	}
	if r := mustVerify(t, f.pool, []byte("wrong")); r.FirstBad == nil || r.FirstBad.Kind != audit.KindSeal {
		t.Fatalf("a wrong key verified: %v", r.FirstBad)
	}
}

// benchLog returns a pool holding n events (in batches of 1000), chained
// and sealed when chain is set.
func benchLog(b *testing.B, n int, chain bool) *pgxpool.Pool {
	pool := pgtest.NewPool(b)
	auditBulk(b, pool, n)
	if chain {
		c := postgres.NewChainer(pool, postgres.ChainerConfig{})
		chainAll(b, c, pool, n)
		mustSeal(b, c)
	}
	return pool
}

// BenchmarkChainer measures chaining a 100k-event log from scratch.
func BenchmarkChainer(b *testing.B) {
	const n = 100_000
	pool := benchLog(b, n, false)
	c := postgres.NewChainer(pool, postgres.ChainerConfig{})
	var chained int
	for b.Loop() {
		b.StopTimer()
		if _, err := pool.Exec(b.Context(), `TRUNCATE event_chain, seals`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		chained += mustChain(b, c)
		mustSeal(b, c)
	}
	b.ReportMetric(float64(chained)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkVerify measures `audit verify` over a chained, sealed 100k log.
func BenchmarkVerify(b *testing.B) {
	const n = 100_000
	pool := benchLog(b, n, true)
	for b.Loop() {
		if r := mustVerify(b, pool, nil); r.FirstBad != nil || r.Sealed != n {
			b.Fatalf("report = %+v, problem %v", r, r.FirstBad)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendWhileChaining measures single-event appends from parallel
// writers with and without a chainer running beside them: the chainer
// must not serialise or slow appends.
func BenchmarkAppendWhileChaining(b *testing.B) {
	for _, chainer := range []bool{false, true} {
		name := "chainer=off"
		if chainer {
			name = "chainer=on"
		}
		b.Run(name, func(b *testing.B) {
			pool := pgtest.NewPool(b)
			store := postgres.NewStore(pool)
			ctx, cancel := context.WithCancel(b.Context())
			done := make(chan error, 1)
			if chainer {
				c := postgres.NewChainer(pool, postgres.ChainerConfig{SealInterval: time.Second})
				go func() { done <- c.Run(ctx, 5*time.Millisecond) }()
			} else {
				close(done)
			}
			var i atomic.Int64
			b.SetParallelism(4) // 4 × GOMAXPROCS writers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := int(i.Add(1))
					if _, err := store.Append(ctx, domain.StreamID("bench-"+strconv.Itoa(k)), domain.NoStream, auditRecord(k)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			cancel()
			<-done
		})
	}
}
