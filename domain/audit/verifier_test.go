package audit_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
)

// testLog is a store in memory: events and chain rows by position, seals.
type testLog struct {
	events map[domain.Position]*audit.Entry
	chain  map[domain.Position]*audit.ChainRow
	seals  []audit.Seal
}

func entryAt(pos domain.Position, i int) *audit.Entry {
	return &audit.Entry{
		ID:            domain.EventID(fmt.Sprintf("00000000-0000-7000-8000-%012d", i)),
		Stream:        domain.StreamID(fmt.Sprintf("card-K-%d", i%3)),
		Version:       domain.Version(i/3 + 1),
		Position:      pos,
		Type:          "card.issued",
		SchemaVersion: 1,
		OccurredAt:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		RecordedAt:    time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC),
		Principal:     "system",
		Data:          fmt.Appendf(nil, `{"n":%d}`, i),
	}
}

// newTestLog returns n events at positions 10, 20, …, all chained and
// sealed every sealEvery events (the remainder unsealed).
func newTestLog(n, sealEvery int, key []byte) *testLog {
	l := &testLog{events: map[domain.Position]*audit.Entry{}, chain: map[domain.Position]*audit.ChainRow{}}
	for i := 1; i <= n; i++ {
		pos := domain.Position(10 * i)
		l.events[pos] = entryAt(pos, i)
	}
	l.rechain(key, sealEvery)
	return l
}

// rechain recomputes every chain row and seal from the events, as an
// attacker with database access (and key, if given) could.
func (l *testLog) rechain(key []byte, sealEvery int) {
	clear(l.chain)
	l.seals = nil
	var prev audit.Link
	var from domain.Position
	var count int64
	for _, pos := range l.positions() {
		e := l.events[pos]
		h := audit.Hash(prev, *e)
		l.chain[pos] = &audit.ChainRow{Position: pos, PrevPosition: prev.Position, EventID: e.ID, Hash: h}
		prev = audit.Link{Position: pos, Hash: h}
		if count == 0 {
			from = pos
		}
		count++
		if sealEvery > 0 && count == int64(sealEvery) {
			var last *audit.Seal
			if len(l.seals) > 0 {
				last = &l.seals[len(l.seals)-1]
			}
			l.seals = append(l.seals, audit.NewSeal(key, last, from, pos, count, h, time.Time{}))
			count = 0
		}
	}
}

func (l *testLog) positions() []domain.Position {
	var ps []domain.Position
	for p := range l.events {
		ps = append(ps, p)
	}
	for p := range l.chain {
		if l.events[p] == nil {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return ps
}

func (l *testLog) verify(key []byte) audit.Report {
	v := audit.NewVerifier(key, l.seals)
	for _, p := range l.positions() {
		if !v.Add(audit.Row{Event: l.events[p], Chain: l.chain[p]}) {
			break
		}
	}
	return v.Report()
}

// forge returns a new event at pos with a chain row hashed onto the chain
// row before it, as an attacker without the seal key would write it.
func (l *testLog) forge(pos domain.Position) {
	e := entryAt(pos, 999)
	l.events[pos] = e
	var prev audit.Link
	for _, p := range l.positions() {
		if p < pos && l.chain[p] != nil {
			prev = audit.Link{Position: p, Hash: l.chain[p].Hash}
		}
	}
	l.chain[pos] = &audit.ChainRow{Position: pos, PrevPosition: prev.Position, EventID: e.ID, Hash: audit.Hash(prev, *e)}
}

func TestVerifierNamesTheFirstBadPosition(t *testing.T) {
	t.Parallel()
	key := []byte("seal key")
	cases := []struct {
		name   string
		key    []byte // sealing and verifying key
		tamper func(l *testLog)
		pos    domain.Position
		kind   audit.Kind
	}{
		{"changing an event's data is caught at that event", nil, func(l *testLog) {
			l.events[40].Data = []byte(`{"n":40000}`)
		}, 40, audit.KindChanged},
		{"changing an event's record time is caught at that event", nil, func(l *testLog) {
			l.events[70].RecordedAt = l.events[70].RecordedAt.Add(time.Microsecond)
		}, 70, audit.KindChanged},
		{"changing an event's principal is caught at that event", nil, func(l *testLog) {
			l.events[10].Principal = "national"
		}, 10, audit.KindChanged},
		{"changing the digest of erased personal data is caught at that event", nil, func(l *testLog) {
			l.events[50].PersonalDigest = audit.PersonalDigest([]byte("x"))
		}, 50, audit.KindChanged},
		{"deleting an event but not its chain row is caught at its position", nil, func(l *testLog) {
			delete(l.events, 50)
		}, 50, audit.KindMissing},
		{"deleting an event with its chain row is caught at its position", nil, func(l *testLog) {
			delete(l.events, 50)
			delete(l.chain, 50)
		}, 50, audit.KindMissing},
		{"deleting the first event with its chain row is caught at its position", nil, func(l *testLog) {
			delete(l.events, 10)
			delete(l.chain, 10)
		}, 10, audit.KindMissing},
		{"deleting only a chain row is caught at its event", nil, func(l *testLog) {
			delete(l.chain, 60)
		}, 60, audit.KindChainMissing},
		{"inserting an event without a chain row is caught at the inserted event", nil, func(l *testLog) {
			l.events[55] = entryAt(55, 999)
		}, 55, audit.KindInserted},
		{"inserting an event with a forged chain row is caught at the inserted event", nil, func(l *testLog) {
			l.forge(55)
		}, 55, audit.KindInserted},
		{"inserting two forged events is caught at the first", nil, func(l *testLog) {
			l.forge(53)
			l.forge(56)
		}, 53, audit.KindInserted},
		{"inserting a forged event between two seals is caught at it", nil, func(l *testLog) {
			l.forge(45) // seals cover 10..40 and 50..80
		}, 45, audit.KindInserted},
		{"swapping two events' positions is caught at the first", nil, func(l *testLog) {
			a, b := l.events[30], l.events[60]
			a.Position, b.Position = 60, 30
			l.events[30], l.events[60] = b, a
		}, 30, audit.KindReordered},
		{"deleting the last sealed event with its chain row is caught at it", nil, func(l *testLog) {
			for p := range l.events {
				if p > 80 {
					delete(l.events, p)
					delete(l.chain, p)
				}
			}
			delete(l.events, 80)
			delete(l.chain, 80)
		}, 80, audit.KindMissing},
		{"deleting the last sealed event but not its chain row is caught at it", nil, func(l *testLog) {
			delete(l.events, 80)
		}, 80, audit.KindMissing},
		{"changing a seal's count is caught at the seal's first event", nil, func(l *testLog) {
			l.seals[1].Count++
		}, 50, audit.KindSeal},
		{"changing a seal's last hash is caught at the seal's first event", nil, func(l *testLog) {
			l.seals[0].LastHash = []byte{1}
		}, 10, audit.KindSeal},
		{"deleting a seal is caught where it began", nil, func(l *testLog) {
			l.seals = slices.Delete(l.seals, 0, 1)
		}, 10, audit.KindSeal},
		{"rewriting the chain after changing an event is caught by the seal covering it", nil, func(l *testLog) {
			seals := l.seals
			l.events[60].Data = []byte(`{"n":"forged"}`)
			l.rechain(nil, 4)
			l.seals = seals
		}, 50, audit.KindSeal},
		{"rewriting chain and seals without the key is caught by the first keyed seal rewritten", key, func(l *testLog) {
			l.events[60].Data = []byte(`{"n":"forged"}`)
			l.rechain([]byte("guessed key"), 4)
		}, 10, audit.KindSeal},
		{"rewriting chain and every seal as unkeyed is caught when the key is given", key, func(l *testLog) {
			l.events[60].Data = []byte(`{"n":"forged"}`)
			l.rechain(nil, 4)
		}, 10, audit.KindSeal},
		{"rewriting chain and seals as unkeyed after keyed seals is caught", key, func(l *testLog) {
			l.events[60].Data = []byte(`{"n":"forged"}`)
			seals := l.seals
			l.rechain(nil, 4)
			l.seals[0] = seals[0]
			l.seals[1].PrevHash = seals[0].Hash
			l.seals[1].Hash = audit.SealHash(nil, l.seals[1])
		}, 50, audit.KindSeal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newTestLog(10, 4, tc.key) // seals 10..40, 50..80; 90, 100 unsealed
			if r := l.verify(tc.key); r.FirstBad != nil {
				t.Fatalf("intact log: %v", r.FirstBad)
			}
			tc.tamper(l)
			r := l.verify(tc.key)
			if r.FirstBad == nil {
				t.Fatalf("tampering went unnoticed: %+v", r)
			}
			if r.FirstBad.Position != tc.pos || r.FirstBad.Kind != tc.kind {
				t.Fatalf("first bad = %v, want %s at %d", r.FirstBad, tc.kind, tc.pos)
			}
		})
	}
}

func TestVerifierAcceptsAnIntactLog(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                               string
		events, sealEvery                  int
		sealKey, verifyKey                 []byte
		tail                               int // unchained events appended
		wantChained, wantSealed, wantSeals int64
		wantUnchecked                      int64
	}{
		{"an empty log verifies", 0, 4, nil, nil, 0, 0, 0, 0, 0},
		{"a chained, partly sealed log verifies", 10, 4, nil, nil, 0, 10, 8, 2, 0},
		{"an unchained tail is reported, not a problem", 10, 4, nil, nil, 3, 10, 8, 2, 0},
		{"a log without seals verifies its chain", 10, 0, nil, nil, 0, 10, 0, 0, 0},
		{"keyed seals verify with the key", 10, 5, []byte("k"), []byte("k"), 0, 10, 10, 2, 0},
		{"keyed seals without the key are counted as unchecked", 10, 5, []byte("k"), nil, 0, 10, 10, 2, 2},
		{"a log longer than the verifier's memory verifies", 5000, 1000, nil, nil, 0, 5000, 5000, 5, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newTestLog(tc.events, tc.sealEvery, tc.sealKey)
			for i := 1; i <= tc.tail; i++ {
				pos := domain.Position(10*(tc.events+i) + 10000)
				l.events[pos] = entryAt(pos, tc.events+i)
			}
			r := l.verify(tc.verifyKey)
			if r.FirstBad != nil {
				t.Fatalf("problem in an intact log: %v", r.FirstBad)
			}
			if r.Events != int64(tc.events+tc.tail) || r.Chained != tc.wantChained || r.Sealed != tc.wantSealed ||
				r.Seals != tc.wantSeals || r.UncheckedSeals != tc.wantUnchecked {
				t.Fatalf("report = %+v", r)
			}
			if tc.wantSeals > 0 && (r.LastSeal == nil || r.LastSeal.Seq != tc.wantSeals) {
				t.Fatalf("last seal = %+v", r.LastSeal)
			}
		})
	}
}

func TestVerifierAcceptsUnkeyedSealsFromBeforeAKeyWasAdopted(t *testing.T) {
	t.Parallel()
	key := []byte("adopted later")
	l := newTestLog(8, 4, nil)
	keyed := newTestLog(8, 4, key)
	l.seals[1] = keyed.seals[1]
	l.seals[1].PrevHash = l.seals[0].Hash
	l.seals[1].Hash = audit.SealHash(key, l.seals[1])
	if r := l.verify(key); r.FirstBad != nil || r.Seals != 2 || r.KeyedSeals != 1 {
		t.Fatalf("report = %+v, problem %v", r, r.FirstBad)
	}
}

func TestVerifierAcceptsErasedPersonalDataByItsDigest(t *testing.T) {
	t.Parallel()
	l := newTestLog(6, 3, nil)
	personal := []byte(`{"name":"A Contact"}`)
	l.events[20].PersonalDigest = audit.PersonalDigest(personal)
	l.rechain(nil, 3)
	// After erasure the store hands over the digest it kept, which is all
	// the Verifier ever sees of personal data.
	if r := l.verify(nil); r.FirstBad != nil {
		t.Fatalf("erased personal data broke the chain: %v", r.FirstBad)
	}
	l.events[20].PersonalDigest = nil // erased without keeping the digest
	if r := l.verify(nil); r.FirstBad == nil || r.FirstBad.Position != 20 {
		t.Fatalf("dropping the digest went unnoticed: %+v", r.FirstBad)
	}
}
