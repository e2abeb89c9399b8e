package postgres_test

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/partner"
	"github.com/kaiku/kaiku/domain/personal"
)

// maija and matti are two contact persons; erasure of maija must leave
// matti alone.
var (
	maija = domain.Person{Subject: "contact:p-erase:1", Name: "Maija Poistettava", Email: "maija.poistettava@example.org", Phone: "+358 40 765 4321"}
	matti = domain.Person{Subject: "contact:p-keep:1", Name: "Matti Pysyvä", Email: "matti.pysyva@example.org"}
)

func sealingStore(t *testing.T, pool *pgxpool.Pool, m personal.MasterKey) *postgres.Store {
	t.Helper()
	k, err := postgres.NewKeyring(t.Context(), pool, m)
	if err != nil {
		t.Fatal(err)
	}
	s := postgres.NewStore(pool)
	s.SealPersonal(k)
	t.Cleanup(s.Close)
	return s
}

func appendContact(t *testing.T, s *postgres.Store, id string, p domain.Person) domain.Record {
	t.Helper()
	rec, err := domain.Encode(partner.Joined{ID: partner.ID(id), Locality: "espoo", Name: "Venue " + id,
		Kind: "venue", Category: "museum", Contact: p, JoinedOn: mustDate(t, "2024-01-02")},
		domain.Metadata{Principal: domain.System})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Append(t.Context(), partner.Stream(partner.ID(id)), domain.NoStream, rec)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func mustDate(t *testing.T, s string) domain.Date {
	t.Helper()
	d, err := domain.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// holding returns "schema.table" of every table in the database whose
// rows, as text, contain any of values (bytea columns are searched in
// their hex form too).
func holding(t *testing.T, pool *pgxpool.Pool, values ...string) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	type tbl struct{ schema, name string }
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tbl, error) {
		var x tbl
		return x, r.Scan(&x.schema, &x.name)
	})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, tb := range tables {
		for _, v := range values {
			var n int
			q := `SELECT count(*) FROM ` + pgx.Identifier{tb.schema, tb.name}.Sanitize() + ` t
				WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0`
			if err := pool.QueryRow(t.Context(), q, v, hex.EncodeToString([]byte(v))).Scan(&n); err != nil {
				t.Fatalf("search %s.%s: %v", tb.schema, tb.name, err)
			}
			if n > 0 {
				found = append(found, tb.schema+"."+tb.name+" holds "+v)
			}
		}
	}
	return found
}

// readAllOf reads the whole log once want records are behind the fence
// (other tests' open transactions hold it back for a while).
func readAllOf(t *testing.T, s *postgres.Store, pool *pgxpool.Pool, want int) ([]domain.Record, error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		head, err := s.Head(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var behind int64
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM events WHERE position <= $1`, int64(head)).Scan(&behind); err != nil {
			t.Fatal(err)
		}
		if behind >= int64(want) || time.Now().After(deadline) {
			return s.ReadAll(t.Context(), 0, 100)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func verifyClean(t *testing.T, pool *pgxpool.Pool, events int64) {
	t.Helper()
	c := postgres.NewChainer(pool, postgres.ChainerConfig{})
	chainAll(t, c, pool, int(events))
	mustSeal(t, c)
	r, err := postgres.Verify(t.Context(), pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.FirstBad != nil || r.Events != events || r.Chained != events {
		t.Fatalf("verify: %d events, %d chained, problem %v; want %d clean", r.Events, r.Chained, r.FirstBad, events)
	}
}

func TestSealedPartsHoldNoPlainTextAndChainVerifies(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	m, _ := personal.NewMasterKey()
	s := sealingStore(t, pool, m)
	appended := appendContact(t, s, "p-erase", maija)
	if string(appended.Personal) != `{"name":"Maija Poistettava","email":"maija.poistettava@example.org","phone":"+358 40 765 4321"}` {
		t.Fatalf("append answered personal part %s, want the plain text", appended.Personal)
	}
	if found := holding(t, pool, maija.Name, maija.Email, maija.Phone); len(found) > 0 {
		t.Fatalf("sealed personal data is readable in the database: %v", found)
	}
	read, err := readAllOf(t, s, pool, 1)
	if err != nil || len(read) != 1 || string(read[0].Personal) != string(appended.Personal) {
		t.Fatalf("ReadAll = %v, %v; want the plain personal part back", read, err)
	}
	ev, err := domain.Decode(read[0])
	if err != nil || ev.(partner.Joined).Contact != maija {
		t.Fatalf("decoded contact %+v, %v; want %+v", ev, err, maija)
	}
	verifyClean(t, pool, 1)
}

func TestWrongMasterKeyIsRefusedAndDecryptsNothing(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	m, _ := personal.NewMasterKey()
	s := sealingStore(t, pool, m)
	appendContact(t, s, "p-erase", maija)

	wrong, _ := personal.NewMasterKey()
	if _, err := postgres.NewKeyring(t.Context(), pool, wrong); !errors.Is(err, postgres.ErrWrongMasterKey) ||
		!strings.Contains(err.Error(), "fingerprint") {
		t.Fatalf("NewKeyring under another master key: err = %v, want ErrWrongMasterKey naming fingerprints", err)
	}

	// A wrapped key replaced in the database (by someone who knows the
	// fingerprint but not the key) fails to open: an error, never bytes.
	other := personal.NewDataKey()
	exec(t, pool, `UPDATE personal_keys SET wrapped = $2 WHERE subject = $1`, maija.Subject, wrong.Wrap(personal.Subject(maija.Subject), other))
	fresh := sealingStore(t, pool, m)
	got, err := readAllOf(t, fresh, pool, 1)
	if !errors.Is(err, postgres.ErrWrongMasterKey) {
		t.Fatalf("ReadAll with a key wrapped by another master key = %v, %v; want ErrWrongMasterKey", got, err)
	}

	// A plain store (no master key) refuses to read sealed parts.
	plain := postgres.NewStore(pool)
	t.Cleanup(plain.Close)
	if got, err := readAllOf(t, plain, pool, 1); !errors.Is(err, postgres.ErrSealed) {
		t.Fatalf("ReadAll without a keyring = %v, %v; want ErrSealed", got, err)
	}
}

func TestSealPlainKeepsDigestsAndReads(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	plain := postgres.NewStore(pool)
	t.Cleanup(plain.Close)
	want := appendContact(t, plain, "p-erase", maija)
	appendContact(t, plain, "p-keep", matti)
	verifyClean(t, pool, 2) // chained over the plain text

	m, _ := personal.NewMasterKey()
	s := sealingStore(t, pool, m)
	pd := postgres.NewPersonalData(pool, s)
	n, skipped, err := pd.SealPlain(t.Context(), 1)
	if err != nil || n != 2 || skipped != 0 {
		t.Fatalf("SealPlain = %d, %d, %v; want 2 sealed", n, skipped, err)
	}
	if n, _, err := pd.SealPlain(t.Context(), 1); err != nil || n != 0 {
		t.Fatalf("second SealPlain = %d, %v; want 0", n, err)
	}
	if found := holding(t, pool, maija.Name, maija.Email, matti.Name); len(found) > 0 {
		t.Fatalf("plain text left after sealing: %v", found)
	}
	got, err := s.ReadStream(t.Context(), want.Stream, 0)
	if err != nil || len(got) != 1 || string(got[0].Personal) != string(want.Personal) {
		t.Fatalf("ReadStream after sealing = %v, %v; want %s", got, err, want.Personal)
	}
	verifyClean(t, pool, 2)
}

func TestEraseLeavesNoByteOfTheSubjectAndTheChainVerifies(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	m, _ := personal.NewMasterKey()
	s := sealingStore(t, pool, m)
	pd := postgres.NewPersonalData(pool, s)
	erased := appendContact(t, s, "p-erase", maija)
	appendContact(t, s, "p-keep", matti)
	// Also a legacy part still in plain text, of the same subject.
	exec(t, pool, `INSERT INTO events (position, event_id, stream, version, type, schema_version, occurred_at,
		principal, data, personal, personal_subject)
		VALUES (1, gen_random_uuid(), 'partner-p-old', 1, 'partner.contact_changed', 1, now(), 'system',
		'{"on":"2023-01-01"}', $1, $2)`,
		`{"name":"Maija Poistettava","email":"old.maija@example.org"}`, maija.Subject)

	// Copies the database holds elsewhere: two read-model versions, a
	// stored idempotent answer and a parked event's error.
	for _, schema := range []string{"rm_contacts_v1", "rm_contacts_v2"} {
		exec(t, pool, `CREATE SCHEMA `+schema)
		exec(t, pool, `CREATE TABLE `+schema+`.contacts (partner text, subject text, name text, email text, phone text)`)
		exec(t, pool, `INSERT INTO `+schema+`.contacts VALUES ('p-erase', $1, $2, $3, $4), ('p-keep', $5, $6, $7, NULL)`,
			maija.Subject, maija.Name, maija.Email, maija.Phone, matti.Subject, matti.Name, matti.Email)
	}
	exec(t, pool, `INSERT INTO idempotency_keys (principal, key_hash, method, path, request_hash, claim, status, content_type, body)
		VALUES ('national', sha256(convert_to('k1', 'UTF8')), 'POST', '/v1/partners', '\x00', gen_random_uuid(), 201, 'application/json', convert_to($1, 'UTF8'))`,
		`{"contact":{"email":"maija.poistettava@example.org"}}`)
	exec(t, pool, `INSERT INTO projection_parked (projection, position, event_id, type, error, handler)
		VALUES ('contacts', 1, gen_random_uuid(), 'partner.joined', $1, 'contacts.OnJoined')`,
		`value "Maija Poistettava" too long`)
	verifyClean(t, pool, 3)

	md := domain.Metadata{Principal: domain.Principal{Role: domain.RoleNational, KeyID: "k_dpo"}}
	res, err := pd.Erase(t.Context(), personal.Subject(maija.Subject), personal.ReasonRequest, md)
	if err != nil {
		t.Fatal(err)
	}
	if res.Parts != 2 || res.ReadModelRows != 2 || res.IdempotencyRows != 1 || res.ParkedRows != 1 {
		t.Errorf("erasure = %+v; want 2 parts, 2 read-model rows, 1 idempotency row, 1 parked row", res)
	}
	if found := holding(t, pool, maija.Name, maija.Email, maija.Phone, "old.maija@example.org"); len(found) > 0 {
		t.Errorf("after erasure the database still holds the subject's data: %v", found)
	}
	if found := holding(t, pool, matti.Name); len(found) != 2 {
		t.Errorf("another subject's data was touched: found only %v", found)
	}
	verifyClean(t, pool, 4)

	// Reads go on: the erased part reads as absent, with its subject.
	got, err := s.ReadStream(t.Context(), erased.Stream, 0)
	if err != nil || len(got) != 1 || got[0].Personal != nil || got[0].Subject != maija.Subject {
		t.Fatalf("ReadStream after erasure = %+v, %v; want no personal part, subject kept", got, err)
	}
	ev, err := domain.Decode(got[0])
	if c := ev.(partner.Joined).Contact; err != nil || !c.Erased || c.Subject != maija.Subject || c.Name != "" {
		t.Fatalf("decoded contact after erasure = %+v, %v; want erased with subject", c, err)
	}
	fresh := sealingStore(t, pool, m) // a process with a cold key cache
	if all, err := readAllOf(t, fresh, pool, 4); err != nil || len(all) != 4 {
		t.Fatalf("ReadAll after erasure = %d records, %v", len(all), err)
	}

	a, err := pd.Access(t.Context(), personal.Subject(maija.Subject))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Erased || len(a.Parts) != 2 || a.Parts[0].Personal != nil || len(a.Erasures) != 1 ||
		a.Erasures[0].Reason != personal.ReasonRequest || a.Erasures[0].By != md.Principal.String() {
		t.Errorf("access after erasure = %+v", a)
	}
	if _, err := pd.Erase(t.Context(), personal.Subject(maija.Subject), personal.ReasonRequest, md); !errors.Is(err, personal.ErrErased) {
		t.Errorf("second erasure: err = %v, want ErrErased", err)
	}
	if _, err := pd.Erase(t.Context(), "contact:nobody:1", personal.ReasonRequest, md); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("erasure of an unknown subject: err = %v, want ErrNotFound", err)
	}
	// A restore from a backup taken before the erasure brings the data
	// back; Reapply erases it again from what the log records.
	exec(t, pool, `UPDATE events SET personal = $1 WHERE position = 1`, `{"name":"Maija Poistettava","email":"old.maija@example.org"}`)
	exec(t, pool, `UPDATE rm_contacts_v2.contacts SET name = $2 WHERE subject = $1`, maija.Subject, maija.Name)
	if n, err := pd.Reapply(t.Context()); err != nil || n != 1 {
		t.Fatalf("Reapply = %d, %v; want 1 subject erased again", n, err)
	}
	if found := holding(t, pool, maija.Name, "old.maija@example.org"); len(found) > 0 {
		t.Errorf("after Reapply the database still holds the subject's data: %v", found)
	}
	if n, err := pd.Reapply(t.Context()); err != nil || n != 0 {
		t.Fatalf("second Reapply = %d, %v; want 0", n, err)
	}
	verifyClean(t, pool, 4)

	// An erased subject gets no new key: nothing more is sealed for it.
	if _, err := fresh.Append(context.Background(), "partner-p-erase", domain.AnyVersion, func() domain.Record {
		r := erased
		r.ID = domain.NewEventID()
		return r
	}()); !errors.Is(err, personal.ErrErased) {
		t.Errorf("append of a part of an erased subject: err = %v, want ErrErased", err)
	}
}

func TestSubjectAccessListsPartsWithTheirEvents(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	m, _ := personal.NewMasterKey()
	s := sealingStore(t, pool, m)
	rec := appendContact(t, s, "p-keep", matti)
	a, err := postgres.NewPersonalData(pool, s).Access(t.Context(), personal.Subject(matti.Subject))
	if err != nil {
		t.Fatal(err)
	}
	if a.Erased || a.Subject.Kind() != "contact" || len(a.Parts) != 1 || a.KeyCreatedAt == nil {
		t.Fatalf("access = %+v", a)
	}
	p := a.Parts[0]
	if p.Position != rec.Position || p.EventID != rec.ID || p.Event != "partner.joined.v1" ||
		string(p.Personal) != string(rec.Personal) || !p.RecordedAt.Equal(rec.RecordedAt) {
		t.Errorf("part = %+v; want the joined event %+v", p, rec)
	}
	if _, err := postgres.NewPersonalData(pool, s).Access(t.Context(), "contact:nobody:1"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("access of an unknown subject: err = %v, want ErrNotFound", err)
	}
}

func TestMasterKeyRotationRewrapsEveryKey(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	old, _ := personal.NewMasterKey()
	s := sealingStore(t, pool, old)
	want := appendContact(t, s, "p-keep", matti)
	appendContact(t, s, "p-erase", maija)
	next, _ := personal.NewMasterKey()
	n, err := s.Keyring().Rotate(t.Context(), next)
	if err != nil || n != 2 {
		t.Fatalf("Rotate = %d, %v; want 2 keys re-wrapped", n, err)
	}
	if _, err := postgres.NewKeyring(t.Context(), pool, old); !errors.Is(err, postgres.ErrWrongMasterKey) {
		t.Fatalf("the old key after rotation: err = %v, want ErrWrongMasterKey", err)
	}
	got, err := sealingStore(t, pool, next).ReadStream(t.Context(), want.Stream, 0)
	if err != nil || len(got) != 1 || string(got[0].Personal) != string(want.Personal) {
		t.Fatalf("read under the new key = %v, %v", got, err)
	}
}

func TestConcurrentAppendsOfANewSubjectShareOneKey(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	m, _ := personal.NewMasterKey()
	const n = 8
	errs := make(chan error, n)
	on := mustDate(t, "2024-02-01")
	for i := range n {
		s := sealingStore(t, pool, m) // each with a cold cache
		go func() {
			rec, err := domain.Encode(partner.ContactChanged{Contact: matti, On: on}, domain.Metadata{Principal: domain.System})
			if err == nil {
				_, err = s.Append(t.Context(), domain.StreamID("partner-race-"+string(rune('a'+i))), domain.NoStream, rec)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	var keys int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM personal_keys`).Scan(&keys); err != nil || keys != 1 {
		t.Fatalf("%d keys for one subject (%v), want 1", keys, err)
	}
	got, err := readAllOf(t, sealingStore(t, pool, m), pool, n)
	if err != nil || len(got) != n {
		t.Fatalf("read %d of %d parts: %v", len(got), n, err)
	}
}
