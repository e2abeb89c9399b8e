package httpapi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiku/kaiku/domain"
)

// Random sequences of commands — valid, invalid and at the edges, from
// every role — through the real API, several sequences at once: no answer is
// a 5xx, every refusal is a problem with a code, every read model catches up
// with no parked event (no event the domain accepted stops one) and equals a
// fresh rebuild from the log, and no table holds an identity-shaped string.
// KAIKU_GENERATIVE_SEQUENCES (default 200) sets the number of sequences of
// 50 commands; KAIKU_GENERATIVE_SEED replays one run, exactly so with
// KAIKU_GENERATIVE_WORKERS=1 (default 4 sequences at a time).
func TestRandomCommandSequencesNeverHurtTheLog(t *testing.T) {
	t.Parallel()
	sequences := envInt("KAIKU_GENERATIVE_SEQUENCES", 200)
	workers := envInt("KAIKU_GENERATIVE_WORKERS", 4)
	seed := uint64(envInt("KAIKU_GENERATIVE_SEED", int(rand.Uint32())))
	t.Logf("seed %d (KAIKU_GENERATIVE_SEED=%d replays it), %d sequences of 50 commands, %d at a time", seed, seed, sequences, workers)
	a := newAPI(t)
	a.seed(t)
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		failure  string
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				s := int(next.Add(1) - 1)
				if s >= sequences {
					return
				}
				g := &gen{r: rand.New(rand.NewPCG(seed, uint64(s))), seq: s}
				for range 50 {
					c := g.command()
					ans := a.call(t, c.p, c.method, c.path, c.body)
					mu.Lock()
					statuses[ans.status]++
					switch {
					case failure != "":
					case ans.status >= 500:
						failure = fmt.Sprintf("sequence %d: %s %s as %s = %d: %s\nbody: %s", s, c.method, c.path, c.p, ans.status, ans.body, c.body)
					case ans.status >= 400 && ans.prob.Code == "":
						failure = fmt.Sprintf("sequence %d: %s %s = %d without a problem code: %s", s, c.method, c.path, ans.status, ans.body)
					}
					stop := failure != ""
					mu.Unlock()
					if stop {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if failure != "" {
		t.Fatal(failure)
	}
	t.Logf("answers by status: %v", statuses)
	if statuses[201]+statuses[200] == 0 || statuses[400]+statuses[422] == 0 {
		t.Fatalf("the generator never reached both sides of the door: %v", statuses)
	}
	ctx := context.Background()
	if err := a.views.sync(ctx); err != nil {
		t.Fatalf("a read model stopped: %v", err)
	}
	var parked int
	if err := a.pool.QueryRow(ctx, `SELECT count(*) FROM projection_parked`).Scan(&parked); err != nil {
		t.Fatal(err)
	}
	if parked != 0 {
		t.Fatalf("%d events parked by a read model", parked)
	}
	fresh := buildViews(t, a.pool, a.store, "_fresh")
	if err := fresh.sync(ctx); err != nil {
		t.Fatalf("a fresh rebuild stopped: %v", err)
	}
	assertSameReadModels(t, a.pool, a.views.names, "_fresh")
	assertNoIdentityCodes(t, a)
}

// assertSameReadModels compares every table of each schema in names with
// the same table of the schema named with suffix, row for row.
func assertSameReadModels(t *testing.T, pool *pgxpool.Pool, names []string, suffix string) {
	t.Helper()
	ctx := context.Background()
	compared := 0
	for _, schema := range names {
		rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1`, schema)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range tables {
			a, b := pgx.Identifier{schema, table}.Sanitize(), pgx.Identifier{schema + suffix, table}.Sanitize()
			var live, differ int
			q := fmt.Sprintf(`SELECT (SELECT count(*) FROM %[1]s),
				(SELECT count(*) FROM ((TABLE %[1]s EXCEPT ALL TABLE %[2]s) UNION ALL (TABLE %[2]s EXCEPT ALL TABLE %[1]s)) d)`, a, b)
			if err := pool.QueryRow(ctx, q).Scan(&live, &differ); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if differ != 0 {
				t.Errorf("%s differs from a fresh rebuild in %d rows (of %d)", a, differ, live)
			}
			compared += live
		}
	}
	if compared == 0 {
		t.Fatal("no read-model row compared: the live read models are empty")
	}
	t.Logf("%d read-model rows equal a fresh rebuild", compared)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

type genCommand struct {
	p            domain.Principal
	method, path string
	body         string
}

// gen makes commands from templates whose fields are drawn from pools of
// good values and of edges: dates at and beyond the window, texts with
// control characters, identity codes, e-mails, huge numbers, wrong types.
type gen struct {
	r     *rand.Rand
	seq   int // the sequence's number, so that sequences run at once draw their own cards
	cards int
}

func (g *gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

// often returns good with probability 4/5, else an edge.
func (g *gen) often(good string, edges ...string) string {
	if g.r.IntN(5) > 0 {
		return good
	}
	return g.pick(edges...)
}

func (g *gen) date() string {
	return g.often(fmt.Sprintf(`"2024-%02d-%02d"`, 1+g.r.IntN(6), 1+g.r.IntN(14)),
		`"2014-12-31"`, `"2015-01-01"`, `"2024-06-15"`, `"2024-06-16"`, `"2024-06-17"`, `"9999-12-31"`, `"2024-02-30"`,
		`"0001-01-01"`, `null`, `17`, `"2024-1-1"`, `"2034-06-15"`, `"2034-06-16"`)
}

func (g *gen) text() string {
	return g.often(`"`+g.pick("Museo", "Kirjasto Åbo", "Liikuntahalli 2", "Työväenopisto")+`"`,
		`""`, `"a\u0000b"`, `"\u001b[31m"`, `"010171-123A"`, `"x 010171-1230 y"`, `"matti@example.fi"`, `"`+strings.Repeat("é", 300)+`"`,
		`"line\nbreak"`, `"\u0085"`, `7`, `null`, `"131052-308T"`, `"131052308T"`, `"synt. 1.1.1971"`)
}

func (g *gen) id(prefix string) string {
	return g.often(`"`+prefix+strconv.Itoa(g.r.IntN(40))+`"`,
		`""`, `"K010171-123A"`, `"x.010171-123a"`, `"a b"`, `"`+strings.Repeat("a", 70)+`"`, `"-x"`, `"ÄÖ"`, `1`, `"131052308T"`)
}

func (g *gen) number(good int) string {
	return g.often(strconv.Itoa(good), "-1", "0", "31", "10001", "9223372036854775807", "92233720368547758070", "1.5", `"2"`, "null", "true")
}

func (g *gen) code(good ...string) string {
	return g.often(`"`+g.pick(good...)+`"`, `""`, `"Other"`, `"010171-123A"`, `"free text reason"`, `"other "`, `3`)
}

func (g *gen) extra() string {
	return g.often("", `,"name":"Matti"`, `,"hetu":"010171-123A"`, `,"ID":"x"`, `,"unknown":1`, `,"on":"2024-01-01"`)
}

func (g *gen) principal() domain.Principal {
	return []domain.Principal{national, auditor, coordinator, coordinatorVantaa, issuer, issuerVantaa, venue, venueVantaa}[g.r.IntN(8)]
}

func (g *gen) cardID() string {
	if g.cards == 0 || g.r.IntN(3) == 0 {
		g.cards++
	}
	return fmt.Sprintf("K-%03d%04d", g.seq, 1+g.r.IntN(g.cards))
}

func (g *gen) command() genCommand {
	card := g.cardID()
	cmds := []func() genCommand{
		func() genCommand {
			return genCommand{issuer, "POST", "/v1/cards", `{"id":"` + card + `","issuedOn":` + g.date() + `,"kind":` + g.code("personal", "community") +
				`,"holder":{"birthYear":` + g.number(1950+g.r.IntN(60)) + `,"postalCode":` + g.often(`"02100"`, `"2100"`, `"ABCDE"`, `"010171-123A"`) +
				`,"minorChildren":` + g.number(g.r.IntN(4)) + g.often("", `,"lifeSituation":"student"`, `,"lifeSituation":"meikalainen"`, `,"gender":"010171-123a"`) + `}` + g.extra() + `}`}
		},
		func() genCommand {
			return genCommand{venue, "POST", "/v1/cards/" + card + "/uses", `{"id":` + g.id("u") + `,"usedOn":` + g.date() + `,"category":` + g.code("culture", "sport") +
				`,"kind":` + g.code("event", "course") + `,"childTickets":` + g.number(g.r.IntN(3)) + `,"assistant":` + g.pick("true", "false", `"yes"`) + g.extra() + `}`}
		},
		func() genCommand {
			return genCommand{venue, "POST", "/v1/cards/" + card + "/uses/u" + strconv.Itoa(g.r.IntN(40)) + "/cancellation",
				`{"reason":` + g.code("wrong_card", "duplicate") + g.often("", `,"note":`+g.text()) + `}`}
		},
		func() genCommand {
			return genCommand{issuer, "POST", "/v1/cards/" + card + "/cancellation", `{"on":` + g.date() + `,"reason":` + g.code("moved_away", "other") + g.extra() + `}`}
		},
		func() genCommand {
			return genCommand{issuer, "POST", "/v1/cards/" + card + "/renewal", `{"on":` + g.date() + `}`}
		},
		func() genCommand {
			return genCommand{issuer, "POST", "/v1/cards/" + card + "/replacement", `{"newCardId":"` + g.cardID() + `","on":` + g.date() + `}`}
		},
		func() genCommand {
			return genCommand{issuer, "PATCH", "/v1/cards/" + card, `{"minorChildren":` + g.number(1) + g.often("", `,"postalCode":"00100"`, `,"lifeSituation":"x y"`) + `}`}
		},
		func() genCommand {
			return genCommand{coordinator, "POST", "/v1/partners", `{"id":` + g.id("p") + `,"locality":"espoo","name":` + g.text() + `,"kind":"venue","category":"sport",` +
				`"contact":{"name":` + g.text() + `,"email":` + g.often(`"c@example.fi"`, `"not-an-email"`, `"a@b"`, `"010171-123A@x.fi"`) + `,"phone":` + g.often(`"+358 40 1234"`, `"12"`, `"phone"`) + `},"joinedOn":` + g.date() + `}`}
		},
		func() genCommand {
			return genCommand{coordinator, "POST", "/v1/partners/p" + strconv.Itoa(g.r.IntN(40)) + "/departure", `{"on":` + g.date() + `,"reason":` + g.code("closed", "merged") + g.often("", `,"note":`+g.text()) + `}`}
		},
		func() genCommand {
			return genCommand{coordinator, "POST", "/v1/localities/espoo/feedback-meetings", `{"heldOn":` + g.date() + `,"participants":` + g.number(10) + `}`}
		},
		func() genCommand {
			return genCommand{coordinator, "POST", "/v1/agreements", `{"id":` + g.id("a") + `,"locality":"espoo","partner":"espoo-museum","kind":` + g.code("pilot", "network") +
				`,"templateVersion":` + g.text() + `,"validFrom":` + g.date() + `,"validUntil":` + g.date() + `}`}
		},
		func() genCommand {
			return genCommand{coordinator, "POST", "/v1/agreements/a" + strconv.Itoa(g.r.IntN(40)) + "/amendments", `{"on":` + g.date() + `,"validUntil":` + g.date() + `,"reason":` + g.code("extension") + `,"note":` + g.text() + `}`}
		},
		func() genCommand {
			return genCommand{coordinator, "PUT", "/v1/partners/espoo-museum/contact", `{"name":` + g.text() + `,"email":"d@example.fi","on":` + g.date() + `}`}
		},
	}
	c := cmds[g.r.IntN(len(cmds))]()
	if g.r.IntN(10) == 0 {
		c.p = g.principal() // any role tries any route
	}
	return c
}
