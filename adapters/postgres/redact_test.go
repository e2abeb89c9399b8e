package postgres_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
	"github.com/kaiku/kaiku/domain/personal"
)

const mistake = "Soitettu Liisa Virtaselle kotiin"

func appendRaw(t *testing.T, s *postgres.Store, stream, data string) domain.Record {
	t.Helper()
	r := domain.Record{ID: domain.NewEventID(), Type: "agreement.amended", SchemaVersion: 1,
		OccurredAt: time.Now().UTC(), Principal: domain.System, Data: []byte(data)}
	out, err := s.Append(t.Context(), domain.StreamID(stream), domain.AnyVersion, r)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func mustVerifyClean(t *testing.T, pool *pgxpool.Pool) audit.Report {
	t.Helper()
	r, err := postgres.Verify(t.Context(), pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.FirstBad != nil {
		t.Fatalf("verify: %v", r.FirstBad)
	}
	return r
}

func TestRedactionKeepsTheChainAndATamperDisguisedAsOneIsCaught(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	m, _ := personal.NewMasterKey()
	s := sealingStore(t, pool, m)
	pd := postgres.NewPersonalData(pool, s)
	c := postgres.NewChainer(pool, postgres.ChainerConfig{})
	appendRaw(t, s, "agreement-a1", `{"on":"2024-01-01","reason":"signed"}`)
	bad := appendRaw(t, s, "agreement-a1", `{"on":"2024-03-01","reason":"`+mistake+`","validUntil":"2025-01-01"}`)
	other := appendRaw(t, s, "agreement-a2", `{"on":"2024-03-02","reason":"another long reason"}`)
	// A read model holding a copy of the mistaken text.
	exec(t, pool, `INSERT INTO read_model_versions (schema_name, read_model, version, state) VALUES ('rm_notes_v1', 'notes', 1, 'live')`)
	exec(t, pool, `CREATE SCHEMA rm_notes_v1`)
	exec(t, pool, `CREATE TABLE rm_notes_v1.entries (agreement text, note text NOT NULL)`)
	exec(t, pool, `INSERT INTO rm_notes_v1.entries VALUES ('a1', $1), ('a1', 'kept')`, mistake)
	chainAll(t, c, pool, 3)
	mustSeal(t, c)

	md := domain.Metadata{Principal: domain.Principal{Role: domain.RoleNational, KeyID: "k_dpo"}}
	if _, err := pd.Redact(t.Context(), bad.Position, "/nope", personal.ReasonMistake, md); !errors.Is(err, &domain.Invalid{Code: "invalid_field"}) {
		t.Errorf("redacting a missing field: err = %v, want invalid_field", err)
	}
	if _, err := pd.Redact(t.Context(), 12345, "/reason", personal.ReasonMistake, md); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("redacting a missing event: err = %v, want ErrNotFound", err)
	}
	got, err := pd.Redact(t.Context(), bad.Position, "/reason", personal.ReasonMistake, md)
	if err != nil {
		t.Fatal(err)
	}
	if got.By != md.Principal.String() || len(got.Digest) != 79 {
		t.Errorf("redaction = %+v", got)
	}
	if found := holding(t, pool, mistake); len(found) > 0 {
		t.Errorf("after redaction the database still holds the mistaken text: %v", found)
	}
	chainAll(t, c, pool, 4)
	mustSeal(t, c)
	mustVerifyClean(t, pool)
	check, err := postgres.CheckRedactions(t.Context(), pool)
	if err != nil || len(check.Redactions) != 1 || len(check.Unexplained) != 0 || check.Redactions[0].Field != "/reason" {
		t.Fatalf("CheckRedactions = %+v, %v; want one explained redaction", check, err)
	}
	if _, err := pd.Redact(t.Context(), bad.Position, "/reason", personal.ReasonMistake, md); !errors.Is(err, &domain.Invalid{Code: "invalid_field"}) {
		t.Errorf("redacting a field twice: err = %v, want invalid_field", err)
	}

	// A field replaced by a marker with the right digest, but no recorded
	// redaction: the chain verifies, the redaction check does not.
	forged, _, err := audit.Redact(other.Data, "/reason")
	if err != nil {
		t.Fatal(err)
	}
	exec(t, pool, `UPDATE events SET data = $2::text::json WHERE position = $1`, other.Position, string(forged))
	mustVerifyClean(t, pool)
	check, err = postgres.CheckRedactions(t.Context(), pool)
	if err != nil || len(check.Unexplained) != 1 || !strings.Contains(check.Unexplained[0], "no redaction of it is recorded") {
		t.Fatalf("a marker without its redaction: CheckRedactions = %+v, %v", check, err)
	}

	// A marker naming another value's digest breaks the chain.
	wrong, _, err := audit.Redact([]byte(`{"on":"2024-03-02","reason":"something else entirely"}`), "/reason")
	if err != nil {
		t.Fatal(err)
	}
	exec(t, pool, `UPDATE events SET data = $2::text::json WHERE position = $1`, other.Position, string(wrong))
	r, err := postgres.Verify(t.Context(), pool, nil)
	if err != nil || r.FirstBad == nil || r.FirstBad.Position != other.Position {
		t.Fatalf("a marker with a wrong digest: verify = %+v, %v; want a change at %d", r.FirstBad, err, other.Position)
	}
}

func TestHistoryChainedUnderTheWholeDataFormatStillVerifies(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	s := postgres.NewStore(pool)
	t.Cleanup(s.Close)
	c := postgres.NewChainer(pool, postgres.ChainerConfig{})
	old := []domain.Record{appendRaw(t, s, "agreement-a1", `{"on":"2024-01-01"}`), appendRaw(t, s, "agreement-a1", `{"on":"2024-02-01","reason":"`+mistake+`"}`)}
	chainAll(t, c, pool, 2)
	// Rewrite those rows as a chainer before format 2 wrote them.
	var prev audit.Link
	for _, r := range old {
		e := audit.EntryOf(r)
		e.Format = audit.FormatWhole
		h := audit.Hash(prev, e)
		exec(t, pool, `UPDATE event_chain SET hash = $2, format = 1 WHERE position = $1`, r.Position, h)
		prev = audit.Link{Position: r.Position, Hash: h}
	}
	mustVerifyClean(t, pool)
	appendRaw(t, s, "agreement-a1", `{"on":"2024-03-01"}`)
	chainAll(t, c, pool, 3)
	mustSeal(t, c)
	if r := mustVerifyClean(t, pool); r.Chained != 3 {
		t.Fatalf("mixed-format chain: %d chained, want 3", r.Chained)
	}
	pd := postgres.NewPersonalData(pool, s)
	if _, err := pd.Redact(t.Context(), old[1].Position, "/reason", personal.ReasonMistake, domain.Metadata{Principal: domain.System}); !errors.Is(err, postgres.ErrRedactWholeFormat) {
		t.Errorf("redacting an event chained under format 1: err = %v, want ErrRedactWholeFormat", err)
	}
	// The format is covered: claiming format 2 for a format-1 row is a change.
	exec(t, pool, `UPDATE event_chain SET format = 2 WHERE position = $1`, old[0].Position)
	if r, err := postgres.Verify(t.Context(), pool, nil); err != nil || r.FirstBad == nil || r.FirstBad.Position != old[0].Position {
		t.Fatalf("a changed chain format: verify = %+v, %v", r.FirstBad, err)
	}
}
